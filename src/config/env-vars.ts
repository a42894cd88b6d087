/**
 * The environment variables hearth reads, as one table for help texts. `load.ts` does the reading;
 * a test checks that every variable it reads is listed here and that each literal default matches
 * what the schema gives, so the help cannot drift from the code.
 */
export interface EnvVar {
  /** Variables with the same effect; the first is hearth's own. */
  names: readonly string[];
  /** The config file key it overrides, if any. */
  key?: string;
  /** As a person would write it (a literal, or a description such as "measured"). */
  default: string;
  meaning: string;
  area: EnvArea;
}

export type EnvArea = 'general' | 'store' | 'server' | 'pool' | 'memory' | 'jobs' | 'audio';

export const ENV_AREAS: Readonly<Record<EnvArea, string>> = {
  general: 'General',
  store: 'Model store and hub',
  server: 'HTTP server',
  pool: 'Model pool',
  memory: 'Vector memory',
  jobs: 'Jobs',
  audio: 'Audio',
};

export const ENV_VARS: readonly EnvVar[] = [
  { area: 'general', names: ['HEARTH_HOME'], default: '~/.hearth', meaning: "hearth's own state" },
  { area: 'general', names: ['HEARTH_CONFIG'], default: '$HEARTH_HOME/config.json', meaning: 'the config file (optional; an explicit path must exist)' },
  { area: 'general', names: ['HEARTH_LOG_LEVEL'], key: 'logLevel', default: 'info; warn for CLI commands other than serve', meaning: 'pino level: fatal, error, warn, info, debug, trace or silent' },
  { area: 'general', names: ['HEARTH_LOG_FORMAT'], key: 'logFormat', default: 'auto', meaning: 'pretty, json, or auto (pretty when stderr is a terminal, else JSON)' },

  { area: 'store', names: ['HF_HUB_CACHE'], key: 'hubCache', default: '$HF_HOME/hub', meaning: 'model cache root (the Hugging Face hub cache)' },
  { area: 'store', names: ['HF_HOME'], default: '$XDG_CACHE_HOME/huggingface', meaning: 'Hugging Face home: the hub cache and the token file' },
  { area: 'store', names: ['XDG_CACHE_HOME'], default: '~/.cache', meaning: "where HF_HOME defaults to" },
  { area: 'store', names: ['HF_ENDPOINT'], key: 'endpoint', default: 'https://huggingface.co', meaning: 'hub to pull from' },
  { area: 'store', names: ['HF_TOKEN'], key: 'token', default: 'none', meaning: 'hub token; sent to the hub only' },
  { area: 'store', names: ['HF_TOKEN_PATH'], default: '$HF_HOME/token', meaning: 'file the hub token is read from when HF_TOKEN is unset' },
  { area: 'store', names: ['HEARTH_OFFLINE', 'HF_HUB_OFFLINE'], key: 'offline', default: 'false', meaning: 'no network at all; uncached models fail' },
  { area: 'store', names: ['HEARTH_PULL_RETRIES'], key: 'pull.retries', default: '5', meaning: 'retries per hub request' },
  { area: 'store', names: ['HEARTH_PULL_TIMEOUT'], key: 'pull.timeout', default: '30s', meaning: 'idle time before a stalled transfer is retried' },
  { area: 'store', names: ['HEARTH_PULL_CONNECTIONS'], key: 'pull.connections', default: '8', meaning: 'parallel range requests for a file larger than one piece; 1 pulls every file as one stream' },
  { area: 'store', names: ['HEARTH_PULL_PIECE_SIZE'], key: 'pull.pieceBytes', default: '16MiB', meaning: 'the byte ranges a large file is cut into (at least 64KiB)' },
  { area: 'store', names: ['HEARTH_DISK_RESERVE'], key: 'pull.reserveBytes', default: '268435456', meaning: 'free bytes kept on the disk beyond the file itself' },
  { area: 'store', names: ['HEARTH_GC_GRACE'], key: 'gc.grace', default: '1h', meaning: 'hearth gc leaves anything younger than this' },
  { area: 'store', names: ['HEARTH_VERIFY_ON_LOAD'], key: 'verify.onLoad', default: 'auto', meaning: "before a model's first load: auto (re-hash changed or stale files), always, or never" },
  { area: 'store', names: ['HEARTH_VERIFY_MAX_AGE'], key: 'verify.maxAge', default: '7d', meaning: 'with auto, a verification older than this is redone' },

  { area: 'server', names: ['HEARTH_HOST'], key: 'server.host', default: '127.0.0.1', meaning: 'bind address; non-loopback needs an API key or --insecure' },
  { area: 'server', names: ['HEARTH_PORT'], key: 'server.port', default: '8434', meaning: 'port' },
  { area: 'server', names: ['HEARTH_API_KEY'], key: 'server.apiKey', default: 'none', meaning: 'bearer token for every route but /health' },
  { area: 'server', names: ['HEARTH_CORS_ORIGINS'], key: 'server.corsOrigins', default: 'none', meaning: 'comma-separated allowed origins; CORS is off without them' },
  { area: 'server', names: ['HEARTH_ALLOWED_HOSTS'], key: 'server.allowedHosts', default: 'none', meaning: 'Host names accepted besides loopback ones when no API key is set' },
  { area: 'server', names: ['HEARTH_MAX_QUEUE'], key: 'server.maxQueue', default: '512', meaning: 'requests queued or running per model before 503' },
  { area: 'server', names: ['HEARTH_BODY_LIMIT'], key: 'server.bodyLimit', default: '16MiB', meaning: 'largest request body' },
  { area: 'server', names: ['HEARTH_MAX_INPUTS'], key: 'server.maxInputs', default: '2048', meaning: 'inputs in one embedding request' },
  { area: 'server', names: ['HEARTH_MAX_TOKENS'], key: 'server.maxTokens', default: '4096', meaning: 'most tokens one generation may produce' },
  { area: 'server', names: ['HEARTH_REQUEST_TIMEOUT'], key: 'server.requestTimeout', default: '30s', meaning: 'time a client has to send a whole request' },
  { area: 'server', names: ['HEARTH_DRAIN_TIMEOUT'], key: 'server.drainTimeout', default: '30s', meaning: 'on SIGTERM, time in-flight requests get before they are aborted' },
  { area: 'server', names: ['HEARTH_AUTO_PULL'], key: 'server.autoPull', default: 'false', meaning: 'pull unknown models on demand (online only)' },
  { area: 'server', names: ['HEARTH_LOG_REQUESTS'], key: 'server.logRequests', default: 'false', meaning: 'log every request at info (otherwise at debug)' },
  { area: 'server', names: ['HEARTH_PRELOAD'], key: 'preload', default: 'none', meaning: 'comma-separated refs to pull and warm at start-up' },

  { area: 'pool', names: ['HEARTH_MAX_LOADED_MODELS'], key: 'pool.maxLoaded', default: '2', meaning: 'models kept in memory at once' },
  { area: 'pool', names: ['HEARTH_MEMORY_BUDGET'], key: 'pool.memoryBudget', default: '75% of free RAM at start-up', meaning: 'bytes, or e.g. 8GiB' },
  { area: 'pool', names: ['HEARTH_KEEP_ALIVE'], key: 'pool.keepAlive', default: '5m', meaning: 'idle time before a model unloads' },
  { area: 'pool', names: ['HEARTH_MAX_KEEP_ALIVE'], key: 'pool.maxKeepAlive', default: 'none', meaning: "ceiling on any request's keep_alive" },
  { area: 'pool', names: ['HEARTH_LOAD_WAIT'], key: 'pool.loadWait', default: '30s', meaning: 'how long a load waits for a busy model to go idle before POOL_FULL' },
  { area: 'pool', names: ['HEARTH_THREADS'], key: 'pool.threads', default: 'measured', meaning: 'fixed thread count; skips tuning' },
  { area: 'pool', names: ['HEARTH_NUM_PARALLEL'], key: 'pool.numParallel', default: '2', meaning: 'parallel generation sequences per model' },
  { area: 'pool', names: ['HEARTH_CONTEXT_SIZE'], key: 'pool.contextSize', default: "the model's, at most 4096 (8192 for embeddings)", meaning: 'context tokens per sequence' },
  { area: 'pool', names: ['HEARTH_DEVICE'], key: 'pool.device', default: 'auto', meaning: 'auto, cpu, cuda, vulkan or metal' },
  { area: 'pool', names: ['HEARTH_CPU_VARIANT'], key: 'pool.cpuVariant', default: 'auto', meaning: 'llama.cpp CPU kernel variant for GGUF models: auto, or a name such as sse42 or haswell to pin (portable mode)' },
  { area: 'pool', names: ['HEARTH_TUNE_BUDGET'], key: 'pool.tuneBudget', default: '4s', meaning: 'time the tuner may spend measuring one model' },
  { area: 'pool', names: ['HEARTH_ENCODER_BATCH_TOKENS'], key: 'pool.encoderBatchTokens', default: '512', meaning: 'padded tokens in one ONNX inference' },
  { area: 'pool', names: ['HEARTH_ENCODER_BATCH_ROWS'], key: 'pool.encoderBatchRows', default: '32', meaning: 'rows in one ONNX inference' },
  { area: 'memory', names: ['HEARTH_DATABASE_URL'], key: 'memory.databaseUrl', default: 'none (embedded PGlite)', meaning: 'a Postgres server with pgvector for collections, postgres://user:password@host:port/db' },
  { area: 'memory', names: ['HEARTH_MEMORY_DIR'], key: 'memory.dataDir', default: '$HEARTH_HOME/memory', meaning: "the embedded database's folder (one process at a time)" },
  { area: 'memory', names: ['HEARTH_MEMORY_DURABLE'], key: 'memory.durable', default: 'false', meaning: 'fsync the embedded database: commits survive an OS crash, at a cost' },
  { area: 'memory', names: ['HEARTH_MEMORY_INDEX_THRESHOLD'], key: 'memory.index.threshold', default: '5000', meaning: 'chunks at which a collection gets its HNSW index (below it, search is exact)' },
  { area: 'memory', names: ['HEARTH_MEMORY_EF_SEARCH'], key: 'memory.index.efSearch', default: '200', meaning: "HNSW's ef_search for queries that set none" },
  { area: 'jobs', names: ['HEARTH_REDIS_URL'], key: 'jobs.redisUrl', default: 'none (jobs run in the process)', meaning: 'Redis for BullMQ workers, redis://host:port; its maxmemory-policy must be noeviction' },
  { area: 'jobs', names: ['HEARTH_JOBS_CONCURRENCY'], key: 'jobs.concurrency', default: 'HEARTH_NUM_PARALLEL', meaning: 'chunks one process works on at once' },
  { area: 'jobs', names: ['HEARTH_INGEST_ROOTS'], key: 'jobs.ingestRoots', default: 'none (POST /v1/jobs cannot name paths)', meaning: 'comma-separated folders the server ingests from when a client names paths' },
  { area: 'audio', names: ['HEARTH_AUDIO_MAX_SECONDS'], key: 'audio.maxSeconds', default: '60', meaning: 'the longest clip a request may send, in seconds' },
  { area: 'audio', names: ['HEARTH_AUDIO_VERIFY_THRESHOLD'], key: 'audio.verifyThreshold', default: '0.25', meaning: "/v1/audio/verify's cosine score above which two clips are the same speaker" },
];

/** Each variable as a help item: its names, and what it does with its default and config key. */
export function envHelpItems(area: EnvArea): Array<{ term: string; description: string }> {
  return ENV_VARS.filter((v) => v.area === area).map((v) => ({
    term: v.names.join(', '),
    description: `${v.meaning} (default ${v.default}${v.key ? `; config key ${v.key}` : ''})`,
  }));
}
