/**
 * hearth's public API. Anything not exported here is internal and may change.
 */
export { loadConfig, configSchema, parseDuration, formatDuration, type Config, type ConfigInput, type Env } from './config/index.js';
export { HearthError, isHearthError, toHearthError, errorCodes, type ErrorCode, type HearthErrorOptions } from './errors/index.js';
export { createLogger, silentLogger, type Logger } from './log/logger.js';
export {
  Store,
  createStore,
  parseRef,
  type StoreOptions,
  type OperationOptions,
  type ModelRef,
  type ModelStatus,
  type PullEvent,
  type PullResult,
  type ResolvedModel,
  type StoredFile,
  type StoreEntry,
  type VerifyReport,
  type VerifyItem,
  type GcReport,
  type GcItem,
  type RemoveReport,
  type BundleReport,
  type ImportReport,
} from './store/index.js';
export { diagnose, type DoctorReport } from './store/doctor.js';
export { createServer, type HearthServer } from './server/app.js';
export { HEARTH_VERSION } from './version.js';
