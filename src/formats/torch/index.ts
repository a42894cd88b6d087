export * from './types.js';
export { readTorchCheckpoint, parseTorchCheckpoint, type ReadTorchCheckpointOptions } from './checkpoint.js';
export { unpickle, PickleTuple, PickleGlobal, PickleOpaque, type PickleValue, type PickleKey, type PickleCallable, type UnpickleOptions } from './unpickle.js';
export { listZipEntries, readZipEntry, type ZipEntry } from './zip-entries.js';
