import { readFile } from 'node:fs/promises';
import { loadConfig, type Config } from '../../src/config/index.js';
import { silentLogger } from '../../src/log/logger.js';
import type { SqlEngine } from '../../src/memory/engine.js';
import { createMemory, type Memory } from '../../src/memory/memory.js';
import { openMemoryEngine } from '../../src/memory/open-engine.js';
import { createPool } from '../../src/pool/create-pool.js';
import type { Lease, ModelPool } from '../../src/pool/model-pool.js';
import { createSpaces, type Spaces } from '../../src/spaces/index.js';
import { createStore } from '../../src/store/index.js';

/**
 * What the memory children share: hearth's vector memory opened the way the
 * CLI opens it (configuration from the environment, the engine it names,
 * brought to the schema), and the cached vectors read back.
 */
export interface MemoryTarget {
  /** A hearth home of its own: PGlite lives in <home>/memory. */
  home: string;
  /** A Postgres with pgvector; PGlite when absent. */
  databaseUrl?: string | undefined;
  /** HEARTH_MEMORY_INDEX_THRESHOLD (the library's default when absent). */
  indexThreshold?: number | undefined;
}

export function memoryConfig(target: MemoryTarget, extra: Record<string, string> = {}): Readonly<Config> {
  return loadConfig({
    HEARTH_HOME: target.home,
    HEARTH_OFFLINE: '1',
    ...(target.databaseUrl ? { HEARTH_DATABASE_URL: target.databaseUrl } : {}),
    ...(target.indexThreshold !== undefined ? { HEARTH_MEMORY_INDEX_THRESHOLD: String(target.indexThreshold) } : {}),
    ...extra,
  });
}

export interface OpenedMemory {
  memory: Memory;
  engine: SqlEngine;
  spaces: Spaces;
  close(): Promise<void>;
}

/**
 * Memory on the target's engine, for work that needs no model (vectors that
 * come with their documents, queries by vector): a model asked for is an error.
 */
export async function openMemoryWithoutModels(target: MemoryTarget): Promise<OpenedMemory> {
  const config = memoryConfig(target);
  const acquire = (): Promise<Lease> => Promise.reject(new Error('this bench child loads no model'));
  const spaces = createSpaces({ home: config.home, logger: silentLogger, acquire });
  const engine = await openMemoryEngine(config, silentLogger);
  const memory = createMemory({ engine, spaces, logger: silentLogger, index: config.memory.index, indexInBackground: false });
  return { memory, engine, spaces, close: () => engine.close() };
}

export interface MemoryWithModels extends OpenedMemory {
  config: Readonly<Config>;
  pool: ModelPool;
}

/**
 * Memory on the target's engine with a model pool, as the CLI opens it. Its
 * collections never get an index: the add is measured alone (M3 times the
 * build apart).
 */
export async function openMemoryWithModels(target: MemoryTarget, env: Record<string, string>): Promise<MemoryWithModels> {
  const config = memoryConfig(target, env);
  const store = createStore({ config, logger: silentLogger });
  const pool = createPool({ config, store, logger: silentLogger });
  const spaces = createSpaces({ home: config.home, logger: silentLogger, acquire: (ref, options) => pool.acquire(ref, options) });
  const engine = await openMemoryEngine(config, silentLogger);
  const memory = createMemory({ engine, spaces, logger: silentLogger, index: { ...config.memory.index, threshold: Number.POSITIVE_INFINITY }, indexInBackground: false });
  const close = async () => {
    await engine.close();
    await pool.dispose();
    await store.dispose();
  };
  return { config, pool, memory, engine, spaces, close };
}

/** The embedding alone, the baseline of M3 and J2: the texts in batches through a guarded lease of the space's model; its time, and the tokens embedded. */
export async function embedAlone(spaces: Spaces, space: string, texts: readonly string[], batch: number): Promise<{ ms: number; tokens: number }> {
  const { lease } = await spaces.guardedLease(await spaces.get(space));
  try {
    let tokens = 0;
    const started = performance.now();
    for (let at = 0; at < texts.length; at += batch) {
      const result = await lease.model.embed(texts.slice(at, at + batch), { truncate: false });
      tokens += result.tokens.reduce((a, b) => a + b, 0);
    }
    return { ms: performance.now() - started, tokens };
  } finally {
    lease.release();
  }
}

/** Rows of `dims` float32s, as the vector cache stores them (little-endian, row after row). */
export async function readVectors(file: string, dims: number): Promise<Float32Array> {
  const bytes = await readFile(file);
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : Buffer.from(bytes);
  const all = new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
  if (all.length % dims !== 0) throw new Error(`${file} holds ${all.length} floats, not rows of ${dims}`);
  return all;
}

export function row(vectors: Float32Array, dims: number, i: number): Float32Array {
  return vectors.subarray(i * dims, (i + 1) * dims);
}

/** The document id of corpus row i, in every store the bench fills. */
export function docId(i: number): string {
  return `d${i}`;
}
