export { Store, createStore, type StoreOptions, type OperationOptions } from './store.js';
export { parseRef, type ModelRef } from './ref.js';
export { isExternalData, onnxVariant } from './model-files.js';
export type { ModelStatus, PullEvent, PullResult, ResolvedModel, StoredFile, StoreEntry } from './types.js';
export type { VerifyReport, VerifyItem } from './verify.js';
export type { GcReport, GcItem } from './gc.js';
export type { RemoveReport } from './remove.js';
export type { BundleReport, ImportReport } from './bundle.js';
