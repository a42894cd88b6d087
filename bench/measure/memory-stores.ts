import { rm } from 'node:fs/promises';
import { DEFAULT_INDEX_POLICY } from '../../src/memory/memory.js';
import type { MemoryTarget } from '../children/memory-common.js';
import type { MemoryFillInput, MemoryFillResult } from '../children/memory-fill.js';
import type { RunContext } from '../context.js';
import { tamedEnv } from '../env.js';
import { runChild } from '../proc/child.js';
import { MEMORY_CHILD } from './memory-children.js';
import { benchPostgres } from './memory-postgres.js';
import { memoryVectors, type MemoryVectors } from './memory-vectors.js';

/**
 * The stores M1 and M2 work on, one per engine: PGlite in a fresh hearth
 * home, and the run's Postgres. Every fill is a child process of its own.
 */
export type EngineKind = 'pglite' | 'postgres';
export const ENGINES: EngineKind[] = ['pglite', 'postgres'];

/** memory.add writes documents that bring their vectors 5,000 per transaction (BATCH_VECTORS): the baseline's COPY batch. */
export const COPY_BATCH = 5000;
const FILL_TIMEOUT_MS = 30 * 60_000;
/** An HNSW build of 100k rows took 919 s in PGlite with 64 MB of build memory (issue 14), on a quiet machine. */
const BUILD_TIMEOUT_MS = 90 * 60_000;

/** A fresh target on `kind`: a new hearth home (PGlite in it), or the run's Postgres; unavailable with the reason. */
export async function freshTarget(ctx: RunContext, kind: EngineKind, name: string): Promise<MemoryTarget | { unavailable: string }> {
  const home = await ctx.tempDir(`memory-${kind}-${name}`);
  if (kind === 'pglite') return { home };
  const server = await benchPostgres(ctx);
  return 'unavailable' in server ? server : { home, databaseUrl: server.url };
}

export function fill(input: MemoryFillInput, timeoutMs = FILL_TIMEOUT_MS): Promise<MemoryFillResult> {
  return runChild<MemoryFillInput, MemoryFillResult>(MEMORY_CHILD.fill, input, { env: tamedEnv(), timeoutMs });
}

/** M1, one repeat on one engine: memory.add of the corpus and the raw COPY baseline (their order alternates by repeat). */
export async function bulkInsert(ctx: RunContext, kind: EngineKind): Promise<{ vectors: MemoryVectors; result: MemoryFillResult }> {
  const vectors = await memoryVectors(ctx);
  const target = await freshTarget(ctx, kind, `m1-${ctx.repeat}`);
  if ('unavailable' in target) throw new Error(target.unavailable);
  ctx.log(`  ${kind}: memory.add of ${vectors.sizes.corpus} vectors, and the raw COPY ${ctx.repeat % 2 === 0 ? 'before' : 'after'} it`);
  try {
    const result = await fill({
      target,
      corpusFile: vectors.corpusFile,
      dims: vectors.dims,
      count: vectors.sizes.corpus,
      collection: `m1_r${ctx.repeat}`,
      batch: COPY_BATCH,
      raw: { first: ctx.repeat % 2 === 0 },
      drop: kind === 'postgres',
    });
    return { vectors, result };
  } finally {
    await rm(target.home, { recursive: true, force: true });
  }
}

export interface IndexedStore {
  kind: EngineKind;
  target: MemoryTarget;
  vectors: MemoryVectors;
  collection: string;
  /** PGlite only: the first rows again, in a collection searched exactly. */
  exactCollection: string | undefined;
  fill: MemoryFillResult;
}

/**
 * The corpus with its HNSW index at the library's defaults (m, ef_construction,
 * build memory), built once per run and engine and shared by M1's cold open
 * and M2's queries. The build is timed.
 */
export function indexedStore(ctx: RunContext, kind: EngineKind): Promise<IndexedStore> {
  return ctx.once(`memory-indexed:${kind}`, async () => {
    const vectors = await memoryVectors(ctx);
    const target = await freshTarget(ctx, kind, 'indexed');
    if ('unavailable' in target) throw new Error(target.unavailable);
    const { threshold: _t, ...build } = DEFAULT_INDEX_POLICY;
    const exactCollection = kind === 'pglite' ? 'exact' : undefined;
    ctx.log(`  ${kind}: the ${vectors.sizes.corpus}-row store, and its HNSW index at the defaults (m ${build.m}, ef_construction ${build.efConstruction}, ${build.buildMemoryMiB} MiB), once for the run`);
    const result = await fill(
      {
        target,
        corpusFile: vectors.corpusFile,
        dims: vectors.dims,
        count: vectors.sizes.corpus,
        collection: 'corpus',
        batch: COPY_BATCH,
        build,
        exact: exactCollection ? { collection: exactCollection, rows: vectors.sizes.exactRows } : undefined,
      },
      BUILD_TIMEOUT_MS,
    );
    ctx.log(`  ${kind}: HNSW build ${(result.build!.ms / 1000).toFixed(1)} s, recall measured by the library ${result.build!.recall}`);
    return { kind, target, vectors, collection: 'corpus', exactCollection, fill: result };
  });
}
