import { join } from 'node:path';
import type { MemoryQueryInput, PassResult, QueryPass } from '../children/memory-query.js';
import type { RunContext } from '../context.js';
import { tamedEnv } from '../env.js';
import { runChild } from '../proc/child.js';
import { MEMORY_CHILD } from './memory-children.js';
import { indexedStore, type EngineKind, type IndexedStore } from './memory-stores.js';

const QUERY_TIMEOUT_MS = 30 * 60_000;

export interface QueryRun {
  store: IndexedStore;
  passes: Record<string, PassResult>;
}

/** Label of a pass through memory.query at an ef_search, and of the index-ordered diagnostic. */
export const hnswPass = (efSearch: number, iterative = false) => `ef${efSearch}${iterative ? '+iterative' : ''}`;
export const sqlPass = (efSearch: number) => `sql-ef${efSearch}`;
export const EXACT_PASS = 'exact';

/**
 * M2, one repeat on one engine, in one child process: the query vectors
 * through memory.query against the indexed store at each ef_search, then
 * with the iterative scan; on PGlite the exact search of the first rows; on
 * Postgres, whose planner answers memory.query's statement with a full scan,
 * the index-ordered diagnostic statement at each ef_search (see memory-query.ts).
 */
export function queryPasses(ctx: RunContext, kind: EngineKind): Promise<QueryRun> {
  return ctx.shared(`memory-queries:${kind}`, async () => {
    const store = await indexedStore(ctx, kind);
    const { sizes } = store.vectors;
    const passes: QueryPass[] = [
      ...sizes.efSearches.map((ef) => ({ label: hnswPass(ef), collection: store.collection, truth: 'full' as const, efSearch: ef })),
      ...sizes.iterativeEfSearches.map((ef) => ({ label: hnswPass(ef, true), collection: store.collection, truth: 'full' as const, efSearch: ef, iterative: true })),
      ...(store.exactCollection ? [{ label: EXACT_PASS, collection: store.exactCollection, truth: 'exact' as const }] : []),
      ...(kind === 'postgres' ? sizes.efSearches.map((ef) => ({ label: sqlPass(ef), collection: store.collection, truth: 'full' as const, efSearch: ef, via: 'index-sql' as const })) : []),
    ];
    ctx.log(`  ${kind}: ${sizes.queries} queries × ${passes.map((p) => p.label).join(', ')}`);
    const input: MemoryQueryInput = {
      target: store.target,
      queriesFile: store.vectors.queriesFile,
      truthFile: join(store.vectors.dir, 'truth.json'),
      dims: store.vectors.dims,
      queries: sizes.queries,
      warmup: sizes.warmup,
      minQueries: sizes.minQueries,
      maxMs: sizes.passMaxMs,
      passes,
    };
    const results = await runChild<MemoryQueryInput, PassResult[]>(MEMORY_CHILD.query, input, { env: tamedEnv(), timeoutMs: QUERY_TIMEOUT_MS });
    return { store, passes: Object.fromEntries(results.map((r) => [r.label, r])) };
  });
}
