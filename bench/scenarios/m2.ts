import { EXACT_PASS, hnswPass, queryPasses, sqlPass } from '../measure/memory-queries.js';
import { ENGINES, indexedStore, type EngineKind } from '../measure/memory-stores.js';
import { attempt, type RowSpec, type Scenario, type Value } from '../scenario.js';

const NAMES: Record<EngineKind, string> = { pglite: 'PGlite', postgres: 'Postgres' };

function engineRows(kind: EngineKind): RowSpec[] {
  const name = NAMES[kind];
  const latency = kind === 'pglite';
  return [
    { metric: `p50 ms, HNSW, ef_search 100 (${name})`, unit: 'ms', hearth: `${kind}.p50.ef100`, compare: 'value', ...(latency ? { target: { op: '<=', value: 10 } } : { note: 'reported' }) },
    { metric: `p99 ms, HNSW, ef_search 100 (${name})`, unit: 'ms', hearth: `${kind}.p99.ef100`, compare: 'value', ...(latency ? { target: { op: '<=', value: 30 } } : { note: 'reported' }) },
    { metric: `recall@10, ef_search 100, the default (${name})`, unit: '', hearth: `${kind}.recall.ef100`, compare: 'value', target: { op: '>=', value: 0.95 } },
    { metric: `recall@10, ef_search 40 (${name})`, unit: '', hearth: `${kind}.recall.ef40`, compare: 'value', note: 'reported' },
    { metric: `recall@10, ef_search 200 (${name})`, unit: '', hearth: `${kind}.recall.ef200`, compare: 'value', note: 'reported' },
    { metric: `p50 ms, HNSW, ef_search 200 (${name})`, unit: 'ms', hearth: `${kind}.p50.ef200`, compare: 'value', note: 'reported' },
    { metric: `recall@10, ef_search 100 + iterative scan (${name})`, unit: '', hearth: `${kind}.recall.ef100+iterative`, compare: 'value', note: 'reported' },
    { metric: `HNSW build s, defaults (${name})`, unit: 's', hearth: `${kind}.buildS`, compare: 'value', note: 'once per run' },
  ];
}

/**
 * Vector memory's queries (issue 14): the query vectors (texts outside the
 * corpus, embedded by the MiniLM-shaped ONNX model) through `memory.query`
 * by vector, top 10, against the corpus with its HNSW index at the library's
 * defaults, per engine: p50 and p99 latency, and recall@10 against the exact
 * neighbours (brute force in float64), at ef_search 40, 100 (the default)
 * and 200, and with pgvector's iterative scan. Also exact search (no index)
 * of the first 10k rows in PGlite, and on Postgres a diagnostic: the same
 * statement ordered by the distance alone, which its planner serves from
 * the index (memory.query's own statement it answers with a full scan).
 * The store and its index are built once per run; the queries run every repeat.
 */
export const m2: Scenario = {
  id: 'M2',
  title: 'Vector memory: HNSW query latency and recall@10 at 100k, per engine; exact search at 10k',
  rows: [
    ...engineRows('pglite'),
    { metric: 'p50 ms, exact search, 10k rows (PGlite)', unit: 'ms', hearth: 'pglite.p50.exact', compare: 'value', note: 'reported' },
    { metric: 'p99 ms, exact search, 10k rows (PGlite)', unit: 'ms', hearth: 'pglite.p99.exact', compare: 'value', note: 'reported' },
    { metric: 'recall@10, exact search, 10k rows (PGlite)', unit: '', hearth: 'pglite.recall.exact', compare: 'value', note: 'checks the reference' },
    ...engineRows('postgres'),
    { metric: 'recall@10, ef_search 40, ORDER BY distance only (Postgres, diagnostic)', unit: '', hearth: `postgres.recall.${sqlPass(40)}`, compare: 'value', note: 'reported' },
    { metric: 'recall@10, ef_search 100, ORDER BY distance only (Postgres, diagnostic)', unit: '', hearth: `postgres.recall.${sqlPass(100)}`, compare: 'value', note: 'reported' },
    { metric: 'recall@10, ef_search 200, ORDER BY distance only (Postgres, diagnostic)', unit: '', hearth: `postgres.recall.${sqlPass(200)}`, compare: 'value', note: 'reported' },
    { metric: 'p50 ms, ef_search 100, ORDER BY distance only (Postgres, diagnostic)', unit: 'ms', hearth: `postgres.p50.${sqlPass(100)}`, compare: 'value', note: 'reported' },
    { metric: 'p99 ms, ef_search 100, ORDER BY distance only (Postgres, diagnostic)', unit: 'ms', hearth: `postgres.p99.${sqlPass(100)}`, compare: 'value', note: 'reported' },
  ],
  async run(ctx) {
    const details: Record<string, unknown> = {};
    const values: Record<string, Value> = {};
    for (const kind of ENGINES) {
      const run = queryPasses(ctx, kind);
      const pass = async (label: string) => {
        const found = (await run).passes[label];
        if (!found) throw new Error(`no ${label} pass`);
        return found;
      };
      const labels = [hnswPass(40), hnswPass(100), hnswPass(200), hnswPass(100, true), ...(kind === 'pglite' ? [EXACT_PASS] : [sqlPass(40), sqlPass(100), sqlPass(200)])];
      for (const label of labels) {
        values[`${kind}.recall.${label}`] = await attempt(async () => (await pass(label)).recall);
        values[`${kind}.p50.${label}`] = await attempt(async () => (await pass(label)).p50);
        values[`${kind}.p99.${label}`] = await attempt(async () => (await pass(label)).p99);
      }
      values[`${kind}.buildS`] = await attempt(async () => (await indexedStore(ctx, kind)).fill.build!.ms / 1000);
      await run.then(
        (r) => {
          details[kind] = { passes: r.passes, build: r.store.fill.build, rows: r.store.fill.rows, vectors: { dir: r.store.vectors.dir, made: r.store.vectors.made, stats: r.store.vectors.truth.stats } };
        },
        () => undefined,
      );
    }
    return { values, details };
  },
};
