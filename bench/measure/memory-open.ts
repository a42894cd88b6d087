import type { MemoryOpenInput, MemoryOpenResult } from '../children/memory-open.js';
import type { RunContext } from '../context.js';
import { tamedEnv, untamedEnv } from '../env.js';
import { runChild } from '../proc/child.js';
import { readVectors } from '../children/memory-common.js';
import { MEMORY_CHILD } from './memory-children.js';
import { indexedStore } from './memory-stores.js';

const OPEN_TIMEOUT_MS = 120_000;

export interface ColdOpen {
  hearth: MemoryOpenResult;
  raw: MemoryOpenResult;
}

/**
 * M1's cold open of the indexed PGlite store: hearth's memory in a fresh
 * process (open, schema check, one query by vector at the default
 * ef_search), against a plain Node program opening the same folder with
 * PGlite and running the same search. Their order alternates by repeat.
 * "Cold" is a new process; the store's files are in the OS page cache
 * (the bench does not drop the machine's caches).
 */
export function coldOpen(ctx: RunContext): Promise<ColdOpen> {
  return ctx.shared('memory-cold-open', async () => {
    const store = await indexedStore(ctx, 'pglite');
    const queries = await readVectors(store.vectors.queriesFile, store.vectors.dims);
    const vector = Array.from(queries.subarray(0, store.vectors.dims));
    const hearth = () => runChild<MemoryOpenInput, MemoryOpenResult>(MEMORY_CHILD.open, { target: store.target, collection: store.collection, vector, entry: ctx.options.entry }, { env: tamedEnv(), timeoutMs: OPEN_TIMEOUT_MS });
    const raw = () =>
      runChild<unknown, MemoryOpenResult>(MEMORY_CHILD.rawOpen, { dataDir: `${store.target.home}/memory`, table: `hearth_chunks_${store.fill.collectionId}`, vector }, { env: untamedEnv(), timeoutMs: OPEN_TIMEOUT_MS });
    ctx.log('  cold open of the indexed PGlite store: hearth and plain PGlite, each in a fresh process');
    if (ctx.repeat % 2 === 0) {
      const h = await hearth();
      return { hearth: h, raw: await raw() };
    }
    const r = await raw();
    return { hearth: await hearth(), raw: r };
  });
}
