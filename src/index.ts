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
export { createPool, type CreatePoolOptions } from './pool/create-pool.js';
export { ModelPool, type PoolConfig, type PoolOptions, type AcquireOptions, type Lease } from './pool/model-pool.js';
export type { ModelState, ModelView } from './pool/pool-entry.js';
export { Tuner, type TuneResult, type Measurement } from './pool/tuner.js';
export { systemClock, type Clock } from './pool/clock.js';
export { LlamaBackend, type LlamaBackendOptions } from './runtime/llama/llama-backend.js';
export { OnnxBackend, type OnnxBackendOptions } from './runtime/onnx/onnx-backend.js';
export { runtimeEnv, missingRuntimeEnv } from './runtime/runtime-env.js';
export type {
  Backend,
  LoadedModel,
  ModelInfo,
  RuntimeIdentity,
  EmbedInput,
  EmbedOptions,
  EmbedResult,
  GenerateRequest,
  GenerateEvent,
  ChatMessage,
  Parallelism,
  Pooling,
  Device,
} from './runtime/types.js';
export {
  createSpaces,
  Spaces,
  SpaceRegistry,
  TOLERANCE,
  PROBES,
  PROBE_SET_ID,
  compareProbes,
  decodeSpace,
  encodeSpace,
  type CheckReport,
  type ImportOptions,
  type SpacesOptions,
  type SpaceListing,
  type SpaceRecord,
  type SpaceModel,
  type SpaceRuntime,
  type SpaceFingerprints,
  type ProbeAgreement,
  type Verdict,
  type FieldDiff,
} from './spaces/index.js';
export {
  createMemory,
  Memory,
  DEFAULT_INDEX_POLICY,
  PGLITE_COMFORT_CHUNKS,
  type MemoryOptions,
  type IndexPolicy,
  type DocumentInput,
  type AddReport,
  type QueryInput,
  type CollectionStats,
  type DeadLetter,
  type SelfTestReport,
} from './memory/memory.js';
export type { Collection, Hit, SimilarityDistribution } from './memory/collection-store.js';
export type { ReembedTarget, ReembedOptions, ReembedReport, ReembedEvaluation } from './memory/reembed.js';
export type { SqlEngine, SqlSession } from './memory/engine.js';
export { openMemoryEngine } from './memory/open-engine.js';
export { openPgliteEngine, type PgliteEngineOptions } from './memory/engine-pglite.js';
export { openPostgresEngine, type PostgresEngineOptions } from './memory/engine-postgres.js';
export { createJobExecutor } from './jobs/create-executor.js';
export type { JobExecutor, JobProcessors, JobStatus, JobState, JobError, FlowSpec } from './jobs/executor.js';
export { InProcessExecutor, type InProcessExecutorOptions } from './jobs/in-process-executor.js';
export { planEnrichment, enrichProcessors, ENRICH_QUEUE, type EnrichRequest } from './jobs/enrich/enrich-queue.js';
export { planIngestion, ingestProcessors, INGEST_QUEUE, type IngestRequest, type IngestResult, type GateReport, type IngestObserver } from './jobs/ingest/ingest-queue.js';
export { createServer, type HearthServer, type ServerDeps } from './server/app.js';
export { HEARTH_VERSION } from './version.js';
