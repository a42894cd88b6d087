import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { HearthError } from '../errors/index.js';
import { FALSE_WORDS, parseBoolean, TRUE_WORDS } from './boolean.js';
import { configSchema, type Config } from './schema.js';

export type Env = Record<string, string | undefined>;

/**
 * Reads configuration once: defaults, then the config file, then the environment.
 * Everything else receives the resulting frozen object; nothing reads process.env later.
 */
export function loadConfig(env: Env = process.env, overrides: Record<string, unknown> = {}): Readonly<Config> {
  const home = resolve(expandHome(env.HEARTH_HOME || join(homedir(), '.hearth'), env));
  const file = readConfigFile(env.HEARTH_CONFIG, join(home, 'config.json'), env);
  const hfHome = resolve(expandHome(env.HF_HOME || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'huggingface'), env));

  const fromEnv = pruneUndefined({
    home,
    hubCache: env.HF_HUB_CACHE ? resolve(expandHome(env.HF_HUB_CACHE, env)) : undefined,
    endpoint: env.HF_ENDPOINT || undefined,
    token: env.HF_TOKEN || undefined,
    // Set in the environment, either variable decides (so HEARTH_OFFLINE=0 overrides the file).
    offline: envOffline(env),
    logLevel: env.HEARTH_LOG_LEVEL || undefined,
    logFormat: env.HEARTH_LOG_FORMAT || undefined,
    preload: env.HEARTH_PRELOAD ? splitList(env.HEARTH_PRELOAD) : undefined,
  });
  const pullEnv = pruneUndefined({
    retries: env.HEARTH_PULL_RETRIES,
    timeout: env.HEARTH_PULL_TIMEOUT,
    reserveBytes: env.HEARTH_DISK_RESERVE,
    connections: env.HEARTH_PULL_CONNECTIONS,
    pieceBytes: env.HEARTH_PULL_PIECE_SIZE,
  });
  const serverEnv = pruneUndefined({
    host: env.HEARTH_HOST,
    port: env.HEARTH_PORT,
    apiKey: env.HEARTH_API_KEY,
    corsOrigins: env.HEARTH_CORS_ORIGINS ? splitList(env.HEARTH_CORS_ORIGINS) : undefined,
    maxQueue: env.HEARTH_MAX_QUEUE,
    bodyLimit: env.HEARTH_BODY_LIMIT,
    autoPull: env.HEARTH_AUTO_PULL,
    maxInputs: env.HEARTH_MAX_INPUTS,
    maxTokens: env.HEARTH_MAX_TOKENS,
    requestTimeout: env.HEARTH_REQUEST_TIMEOUT,
    drainTimeout: env.HEARTH_DRAIN_TIMEOUT,
    allowedHosts: env.HEARTH_ALLOWED_HOSTS ? splitList(env.HEARTH_ALLOWED_HOSTS) : undefined,
    logRequests: env.HEARTH_LOG_REQUESTS,
  });
  const gcEnv = pruneUndefined({ grace: env.HEARTH_GC_GRACE });
  const verifyEnv = pruneUndefined({ onLoad: env.HEARTH_VERIFY_ON_LOAD, maxAge: env.HEARTH_VERIFY_MAX_AGE });
  const poolEnv = pruneUndefined({
    maxLoaded: env.HEARTH_MAX_LOADED_MODELS,
    memoryBudget: env.HEARTH_MEMORY_BUDGET,
    keepAlive: env.HEARTH_KEEP_ALIVE,
    maxKeepAlive: env.HEARTH_MAX_KEEP_ALIVE,
    threads: env.HEARTH_THREADS,
    numParallel: env.HEARTH_NUM_PARALLEL,
    contextSize: env.HEARTH_CONTEXT_SIZE,
    device: env.HEARTH_DEVICE,
    cpuVariant: env.HEARTH_CPU_VARIANT,
    tuneBudget: env.HEARTH_TUNE_BUDGET,
    loadWait: env.HEARTH_LOAD_WAIT,
    encoderBatchTokens: env.HEARTH_ENCODER_BATCH_TOKENS,
    encoderBatchRows: env.HEARTH_ENCODER_BATCH_ROWS,
  });

  const memoryEnv = pruneUndefined({
    databaseUrl: env.HEARTH_DATABASE_URL || undefined,
    dataDir: env.HEARTH_MEMORY_DIR || undefined,
    durable: env.HEARTH_MEMORY_DURABLE,
  });
  const indexEnv = pruneUndefined({ threshold: env.HEARTH_MEMORY_INDEX_THRESHOLD, efSearch: env.HEARTH_MEMORY_EF_SEARCH });
  const fileMemory = (file.memory ?? {}) as { index?: object };

  const merged: Record<string, unknown> = {
    hubCache: join(hfHome, 'hub'),
    endpoint: 'https://huggingface.co',
    ...file,
    ...fromEnv,
    pull: { ...(file.pull as object | undefined), ...pullEnv },
    server: { ...(file.server as object | undefined), ...serverEnv },
    gc: { ...(file.gc as object | undefined), ...gcEnv },
    verify: { ...(file.verify as object | undefined), ...verifyEnv },
    pool: { ...(file.pool as object | undefined), ...poolEnv },
    memory: { dataDir: join(home, 'memory'), ...fileMemory, ...memoryEnv, index: { ...fileMemory.index, ...indexEnv } },
    jobs: { ...(file.jobs as object | undefined), ...pruneUndefined({ redisUrl: env.HEARTH_REDIS_URL || undefined, concurrency: env.HEARTH_JOBS_CONCURRENCY, ingestRoots: env.HEARTH_INGEST_ROOTS ? splitList(env.HEARTH_INGEST_ROOTS) : undefined }) },
    audio: { ...(file.audio as object | undefined), ...pruneUndefined({ maxSeconds: env.HEARTH_AUDIO_MAX_SECONDS, verifyThreshold: env.HEARTH_AUDIO_VERIFY_THRESHOLD }) },
    ...overrides,
  };
  if (file.hubCache && !env.HF_HUB_CACHE) merged.hubCache = resolve(expandHome(String(file.hubCache), env));
  merged.token ??= readTokenFile(env.HF_TOKEN_PATH || join(hfHome, 'token'));

  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new HearthError('CONFIG_INVALID', `invalid configuration:\n  ${problems.join('\n  ')}`, {
      cause: parsed.error,
      details: { problems },
    });
  }
  assertNoAliasCycle(parsed.data.aliases);
  return deepFreeze(parsed.data);
}

function readConfigFile(explicit: string | undefined, fallback: string, env: Env): Record<string, unknown> {
  const path = explicit ? resolve(expandHome(explicit, env)) : fallback;
  if (!existsSync(path)) {
    if (explicit) throw new HearthError('CONFIG_INVALID', `config file not found: ${path}`, { details: { path } });
    return {};
  }
  try {
    // Editors on Windows save JSON with a byte-order mark, which JSON.parse refuses.
    const value: unknown = JSON.parse(readFileSync(path, 'utf8').replace(/^\uFEFF/, ''));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('top level must be an object');
    return value as Record<string, unknown>;
  } catch (error) {
    throw new HearthError('CONFIG_INVALID', `cannot read config file ${path}: ${(error as Error).message}`, {
      cause: error,
      details: { path },
    });
  }
}

function readTokenFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

function expandHome(path: string, env: Env): string {
  return path === '~' || path.startsWith('~/') ? join(env.HOME || homedir(), path.slice(1)) : path;
}

/** Offline from the environment: either variable set true decides; a value that is not a boolean is refused, never read as false. */
function envOffline(env: Env): boolean | undefined {
  const values = (['HEARTH_OFFLINE', 'HF_HUB_OFFLINE'] as const).filter((name) => env[name] !== undefined && env[name] !== '');
  if (values.length === 0) return undefined;
  return values
    .map((name) => {
      const parsed = parseBoolean(env[name]!);
      if (parsed === undefined) {
        throw new HearthError('CONFIG_INVALID', `invalid configuration:\n  ${name}: expected a boolean (${TRUE_WORDS.join('/')} or ${FALSE_WORDS.filter(Boolean).join('/')}), got "${env[name]}"`, {
          details: { problems: [`${name}: not a boolean`] },
        });
      }
      return parsed;
    })
    .some(Boolean);
}

/** An alias that leads back to itself would only fail when first used; refuse it at start-up. */
function assertNoAliasCycle(aliases: Readonly<Record<string, string>>): void {
  for (const start of Object.keys(aliases)) {
    const chain = [start];
    let next = aliases[start]!;
    while (Object.hasOwn(aliases, next)) {
      if (chain.includes(next)) {
        throw new HearthError('CONFIG_INVALID', `invalid configuration:\n  aliases: alias cycle ${[...chain, next].join(' -> ')}`, {
          details: { problems: [`aliases: cycle through ${next}`] },
        });
      }
      chain.push(next);
      next = aliases[next]!;
    }
  }
}

function splitList(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

function pruneUndefined(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined && v !== ''));
}

function deepFreeze<T>(value: T): Readonly<T> {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
