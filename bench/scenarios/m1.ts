import { coldOpen } from '../measure/memory-open.js';
import { bulkInsert, ENGINES } from '../measure/memory-stores.js';
import { attempt, type Scenario, type Value } from '../scenario.js';

const MB = 1e6;

/**
 * Vector memory's bulk path (issue 14): documents that bring precomputed
 * vectors (the cached MiniLM-shaped embeddings, 384-d; 100k rows, a few
 * thousand in --quick) written by `memory.add`, in rows/s, against a raw
 * binary COPY of the same rows into a bare table through the engine's own
 * API, in the same process and repeat. Then the cold open of the indexed
 * PGlite store to its first answer, with the process's peak RSS, beside a
 * plain PGlite program doing the same.
 */
export const m1: Scenario = {
  id: 'M1',
  title: 'Vector memory: bulk insert of precomputed vectors, and the cold open of the store',
  rows: [
    { metric: 'bulk insert rows/s (PGlite)', unit: 'rows/s', hearth: 'pgliteAdd', baseline: { key: 'pgliteCopy', label: 'raw binary COPY, bare table (PGlite)' }, compare: 'ratio', target: { op: '>=', value: 0.8 } },
    { metric: 'bulk insert rows/s (PGlite)', unit: 'rows/s', hearth: 'pgliteAdd', compare: 'value', target: { op: '>=', value: 30_000 } },
    { metric: 'bulk insert rows/s (Postgres)', unit: 'rows/s', hearth: 'postgresAdd', baseline: { key: 'postgresCopy', label: 'raw binary COPY, bare table (Postgres)' }, compare: 'ratio', target: { op: '>=', value: 0.8 } },
    { metric: 'cold open to first answer (PGlite, HNSW)', unit: 'ms', hearth: 'openMs', baseline: { key: 'rawOpenMs', label: 'plain PGlite open + the same query' }, compare: 'value', target: { op: '<=', value: 1500 } },
    { metric: 'cold open peak RSS (PGlite)', unit: 'MB', hearth: 'openRss', baseline: { key: 'rawOpenRss', label: 'plain PGlite open + the same query' }, compare: 'value', target: { op: '<=', value: 400 } },
  ],
  async run(ctx) {
    const details: Record<string, unknown> = {};
    const values: Record<string, Value> = {};
    for (const kind of ENGINES) {
      const run = bulkInsert(ctx, kind);
      values[`${kind}Add`] = await attempt(async () => {
        const { result } = await run;
        details[kind] = { ...result, addRowsPerSecond: result.rows / (result.addMs / 1000), rawRowsPerSecond: result.rawMs && result.rows / (result.rawMs / 1000) };
        return result.rows / (result.addMs / 1000);
      });
      values[`${kind}Copy`] = await attempt(async () => {
        const { result } = await run;
        if (result.rawMs === undefined) throw new Error('no baseline');
        return result.rows / (result.rawMs / 1000);
      });
    }
    const open = coldOpen(ctx);
    values.openMs = await attempt(async () => {
      const { hearth, raw } = await open;
      details.coldOpen = { hearth, raw };
      return hearth.ms;
    });
    values.rawOpenMs = await attempt(async () => (await open).raw.ms);
    values.openRss = await attempt(async () => (await open).hearth.maxRssBytes / MB);
    values.rawOpenRss = await attempt(async () => (await open).raw.maxRssBytes / MB);
    return { values, details };
  },
};
