import { z } from 'zod';
import { parseBytes } from './bytes.js';
import { parseBoolean, TRUE_WORDS, FALSE_WORDS } from './boolean.js';
import { parseDuration } from './duration.js';

/** A string-or-number field parsed by one of our parsers, whose message becomes the zod issue. */
function parsedWith<T>(parse: (value: string | number) => T) {
  return z.union([z.string(), z.number()]).transform((value, ctx) => {
    try {
      return parse(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });
}

/** Chosen by measurement: BENCHMARKS.md, P1. */
export const DEFAULT_PULL_CONNECTIONS = 8;
export const DEFAULT_PULL_PIECE_BYTES = 16 * 2 ** 20;

const duration = parsedWith(parseDuration);
const bytes = parsedWith(parseBytes);
/** A duration that must be positive: a zero or negative timeout would fire at once. */
const timeout = (min: number) => duration.refine((ms) => ms >= min, `must be at least ${min >= 1000 ? `${min / 1000}s` : `${min}ms`}`);

const bool = z.union([z.boolean(), z.string()]).transform((value, ctx) => {
  if (typeof value === 'boolean') return value;
  const parsed = parseBoolean(value);
  if (parsed !== undefined) return parsed;
  ctx.addIssue({ code: 'custom', message: `expected a boolean (${TRUE_WORDS.join('/')} or ${FALSE_WORDS.filter(Boolean).join('/')}), got "${value}"` });
  return z.NEVER;
});

/** Larger bodies are refused at start-up: Node cannot hold a JSON string of more than ~1 GiB. */
const MAX_BODY_LIMIT = 2 ** 30;

const aliasName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'alias names use letters, digits, ".", "_" and "-"');

/** The validated shape of hearth's configuration, after env and file are merged. */
export const configSchema = z.object({
  /** hearth's own state (registrations, verification records, quarantine). */
  home: z.string().min(1),
  /** Hugging Face hub cache root, shared with huggingface_hub and llama.cpp. */
  hubCache: z.string().min(1),
  endpoint: z.url({ protocol: /^https?$/ }).transform((u) => u.replace(/\/+$/, '')),
  token: z.string().min(1).optional(),
  offline: bool.default(false),
  aliases: z.record(aliasName, z.string().min(1)).default({}),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `pretty` for people, `json` for log shippers; `auto` is pretty when stderr is a terminal. */
  logFormat: z.enum(['auto', 'pretty', 'json']).default('auto'),
  pull: z
    .object({
      retries: z.coerce.number().int().min(0).max(20).default(5),
      /** Idle time without a byte from the hub before a request is retried. */
      timeout: timeout(1000).default(30_000),
      /** Extra free space kept on the disk beyond the file itself. */
      reserveBytes: z.coerce.number().int().min(0).default(256 * 1024 * 1024),
      /** Parallel range requests for a file larger than one piece (1: one stream); see BENCHMARKS.md, P1. */
      connections: z.coerce.number().int().min(1).max(64).default(DEFAULT_PULL_CONNECTIONS),
      /** The byte ranges a large file is cut into. */
      pieceBytes: bytes.pipe(z.number().int().min(64 * 1024)).default(DEFAULT_PULL_PIECE_BYTES),
    })
    .default({ retries: 5, timeout: 30_000, reserveBytes: 256 * 1024 * 1024, connections: DEFAULT_PULL_CONNECTIONS, pieceBytes: DEFAULT_PULL_PIECE_BYTES }),
  gc: z.object({ grace: duration.default(3_600_000) }).default({ grace: 3_600_000 }),
  verify: z
    .object({
      /**
       * Before a model's first load in a process: `auto` re-hashes a file whose size, mtime or
       * ctime changed since its last verification, or whose verification is older than maxAge;
       * `always` re-hashes every file; `never` trusts the disk.
       */
      onLoad: z.enum(['auto', 'always', 'never']).default('auto'),
      maxAge: timeout(1000).default(7 * 86_400_000),
    })
    .default({ onLoad: 'auto', maxAge: 7 * 86_400_000 }),
  server: z
    .object({
      host: z.string().min(1).default('127.0.0.1'),
      port: z.coerce.number().int().min(0).max(65535).default(8434),
      /** Bearer token every route but /health requires; needed to bind a non-loopback address. */
      apiKey: z.string().min(8, 'use an API key of at least 8 characters').optional(),
      /** Allowed CORS origins; CORS stays off when empty. */
      corsOrigins: z.array(z.string().min(1)).default([]),
      /** Requests queued or running per model before 503. */
      maxQueue: z.coerce.number().int().min(1).default(512),
      bodyLimit: bytes.refine((n) => n >= 1024 && n <= MAX_BODY_LIMIT, `must be between 1KiB and ${MAX_BODY_LIMIT / 2 ** 30}GiB`).default(16 * 1024 * 1024),
      /** Pull unknown models on demand (only when online). */
      autoPull: bool.default(false),
      /** Inputs in one embedding request (OpenAI's own limit is 2,048). */
      maxInputs: z.coerce.number().int().min(1).max(100_000).default(2048),
      /** Tokens one generation may produce; a request asking for more is refused, "unlimited" means this. */
      maxTokens: z.coerce.number().int().min(1).max(1_000_000).default(4096),
      /** Time a client has to send a whole request (headers and body). */
      requestTimeout: timeout(1000).default(30_000),
      /** On SIGTERM, time in-flight requests get to finish before they are aborted. */
      drainTimeout: timeout(100).default(30_000),
      /** Host names accepted besides loopback ones when no API key is set (DNS-rebinding guard). */
      allowedHosts: z.array(z.string().min(1)).default([]),
      /** Log every request at info (otherwise at debug). */
      logRequests: bool.default(false),
    })
    .default({
      host: '127.0.0.1',
      port: 8434,
      corsOrigins: [],
      maxQueue: 512,
      bodyLimit: 16 * 1024 * 1024,
      autoPull: false,
      maxInputs: 2048,
      maxTokens: 4096,
      requestTimeout: 30_000,
      drainTimeout: 30_000,
      allowedHosts: [],
      logRequests: false,
    }),
  preload: z.array(z.string().min(1)).default([]),
  pool: z
    .object({
      maxLoaded: z.coerce.number().int().min(1).max(64).default(2),
      /** Bytes; unset means a safe share of the RAM available at start-up. */
      memoryBudget: bytes.optional(),
      keepAlive: duration.default(300_000),
      maxKeepAlive: duration.optional(),
      /** Fixed thread count; unset means measured per model and machine. */
      threads: z.coerce.number().int().min(1).max(1024).optional(),
      /** Parallel generation sequences per model. */
      numParallel: z.coerce.number().int().min(1).max(64).default(2),
      contextSize: z.coerce.number().int().min(16).optional(),
      device: z.enum(['auto', 'cpu', 'cuda', 'vulkan', 'metal']).default('auto'),
      /** Time the tuner may spend measuring one model: a bound, overrun by at most one candidate's measurement. */
      tuneBudget: timeout(100).default(4000),
      /** How long a load waits for a busy model to go idle before it is refused with POOL_FULL. */
      loadWait: timeout(100).default(30_000),
      /** Padded tokens (rows × longest row) in one ONNX encoder inference. */
      encoderBatchTokens: z.coerce.number().int().min(16).default(512),
      /** Rows in one ONNX encoder inference. */
      encoderBatchRows: z.coerce.number().int().min(1).max(1024).default(32),
      /**
       * ggml CPU kernel variant for GGUF models (portable mode): `auto` lets llama.cpp pick the best
       * for the CPU; a name (sse42, haswell, ...) pins it. Checked against the installed binaries and
       * the CPU when the llama.cpp runtime starts. Dots appear in ARM names (armv8.2_1).
       */
      cpuVariant: z
        .string()
        .trim()
        .toLowerCase()
        .regex(/^(auto|[a-z0-9][a-z0-9_.]*)$/, 'use auto or a CPU variant name such as sse42 or haswell')
        .default('auto'),
    })
    .default({ maxLoaded: 2, keepAlive: 300_000, numParallel: 2, device: 'auto', tuneBudget: 4000, loadWait: 30_000, encoderBatchTokens: 512, encoderBatchRows: 32, cpuVariant: 'auto' }),
  memory: z
    .object({
      /** A Postgres server with pgvector; unset means PGlite embedded in the process. */
      databaseUrl: z
        .string()
        .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
        .optional(),
      /** PGlite's data folder (default $HEARTH_HOME/memory). */
      dataDir: z.string().min(1),
      /** PGlite with fsync on: commits survive an OS crash or power loss, and cost more. */
      durable: bool.default(false),
      /** When a collection gets its HNSW index, and its parameters (pgvector's m and ef_construction). */
      index: z
        .object({
          threshold: z.coerce.number().int().min(1).default(5000),
          m: z.coerce.number().int().min(2).max(100).default(16),
          efConstruction: z.coerce.number().int().min(4).max(1000).default(64),
          buildMemoryMiB: z.coerce.number().int().min(1).default(256),
          efSearch: z.coerce.number().int().min(1).max(1000).default(200),
          recallSamples: z.coerce.number().int().min(1).max(1000).default(20),
        })
        .default({ threshold: 5000, m: 16, efConstruction: 64, buildMemoryMiB: 256, efSearch: 200, recallSamples: 20 }),
    }),
  jobs: z
    .object({
      /** Redis for BullMQ workers; unset means jobs run in the process that queues them. */
      redisUrl: z
        .string()
        .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
        .optional(),
      /** Chunks one process works on at once (default: the pool's parallel sequences). */
      concurrency: z.coerce.number().int().min(1).max(64).optional(),
      /** Folders the server ingests from when a client names paths; none: clients cannot name paths. */
      ingestRoots: z.array(z.string().min(1)).default([]),
    })
    .default({ ingestRoots: [] }),
  audio: z
    .object({
      /** The longest clip a request may send, in seconds (after decoding); longer is AUDIO_TOO_LONG. */
      maxSeconds: z.coerce.number().positive().max(3600).default(60),
      /** /v1/audio/verify's decision: the same speaker when the cosine score is above this (SpeechBrain's default). */
      verifyThreshold: z.coerce.number().min(-1).max(1).default(0.25),
    })
    .default({ maxSeconds: 60, verifyThreshold: 0.25 }),
});

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
