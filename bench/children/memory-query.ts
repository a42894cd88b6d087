import { readFile } from 'node:fs/promises';
import { chunkTable, type Collection } from '../../src/memory/collection-store.js';
import type { SqlEngine } from '../../src/memory/engine.js';
import { encodeVector } from '../../src/memory/pg-binary.js';
import { percentile } from '../stats.js';
import { TOP_K } from '../measure/memory-sizes.js';
import type { MemoryTruth, Neighbours } from './memory-embed.js';
import { childMain } from './child-io.js';
import { docId, openMemoryWithoutModels, readVectors, row, type MemoryTarget, type OpenedMemory } from './memory-common.js';

/**
 * M2's queries: the query vectors, one after another, through
 * `memory.query` by vector (top 10), timed each, and scored against the
 * exact neighbours computed when the vectors were made. One pass per
 * setting: an ef_search, optionally with pgvector 0.8's iterative scan
 * (`hnsw.iterative_scan = relaxed_order`, set for the whole session), or a
 * collection searched exactly. A pass stops after `maxMs` once it has
 * `minQueries` answers, so a plan that scans every row stays bounded.
 *
 * `via: 'index-sql'` is a diagnostic: memory.query's statement with its
 * ORDER BY cut to the distance alone (no doc_id, chunk tie-break), run on
 * the engine directly. Postgres 15 does not use the HNSW index for the
 * library's statement (the tie-break keys leave it a full scan); this pass
 * measures what the index gives with the statement it can serve.
 */
export interface QueryPass {
  label: string;
  collection: string;
  /** Which exact neighbours score it: of the whole corpus, or of its first rows. */
  truth: 'full' | 'exact';
  efSearch?: number | undefined;
  iterative?: boolean | undefined;
  via?: 'memory' | 'index-sql' | undefined;
}

export interface MemoryQueryInput {
  target: MemoryTarget;
  queriesFile: string;
  truthFile: string;
  dims: number;
  queries: number;
  warmup: number;
  minQueries: number;
  maxMs: number;
  passes: QueryPass[];
}

export interface PassResult {
  label: string;
  /** Queries answered (fewer than all when the pass reached maxMs). */
  queries: number;
  p50: number;
  p90: number;
  p99: number;
  mean: number;
  max: number;
  recall: number;
  /** The worst single query's recall@10, and the share of queries with all 10 found. */
  minRecall: number;
  perfect: number;
}

/** Two similarities this close are a tie: the engine computes in float32, the reference in float64. */
const TIE = 1e-5;

childMain<MemoryQueryInput, PassResult[]>(async (input) => {
  const queries = await readVectors(input.queriesFile, input.dims);
  const truth = JSON.parse(await readFile(input.truthFile, 'utf8')) as MemoryTruth;
  const plain = await openMemoryWithoutModels(input.target);
  let iterative: OpenedMemory | undefined;
  const results: PassResult[] = [];
  try {
    for (const pass of input.passes) {
      let opened = plain;
      // PGlite has one connection: a session SET there holds for this pass, and is reset after it.
      if (pass.iterative && !input.target.databaseUrl) await plain.engine.exec('SET hnsw.iterative_scan = relaxed_order');
      else if (pass.iterative) opened = iterative ??= await openIterative(input.target);
      const vectorOf = (q: number) => row(queries, input.dims, q);
      const collection = await opened.memory.get(pass.collection);
      const ask =
        pass.via === 'index-sql'
          ? (q: number) => indexOrderedSearch(opened.engine, collection, vectorOf(q), pass.efSearch)
          : (q: number) => opened.memory.query(pass.collection, { vector: vectorOf(q), topK: TOP_K, efSearch: pass.efSearch });
      for (let q = 0; q < input.warmup; q++) await ask(q % input.queries);
      const times: number[] = [];
      const recalls: number[] = [];
      const passStarted = performance.now();
      for (let q = 0; q < input.queries; q++) {
        if (q >= input.minQueries && performance.now() - passStarted > input.maxMs) break;
        const started = performance.now();
        const hits = await ask(q);
        times.push(performance.now() - started);
        recalls.push(recallOf(hits, truth[pass.truth], q));
      }
      results.push({
        label: pass.label,
        queries: times.length,
        p50: percentile(times, 50),
        p90: percentile(times, 90),
        p99: percentile(times, 99),
        mean: times.reduce((a, b) => a + b, 0) / times.length,
        max: Math.max(...times),
        recall: recalls.reduce((a, b) => a + b, 0) / recalls.length,
        minRecall: Math.min(...recalls),
        perfect: recalls.filter((r) => r === 1).length / recalls.length,
      });
      if (pass.iterative && !input.target.databaseUrl) await plain.engine.exec('RESET hnsw.iterative_scan');
    }
  } finally {
    await iterative?.close();
    await plain.close();
  }
  return results;
});

/** recall@k of one answer: exact neighbours found, a hit tied with the k-th counting as found. */
function recallOf(hits: ReadonlyArray<{ docId: string; similarity: number }>, truth: Neighbours, q: number): number {
  const ids = new Set(truth.ids[q]!.map(docId));
  const kth = truth.sims[q]![TOP_K - 1]!;
  let found = 0;
  for (const hit of hits.slice(0, TOP_K)) if (ids.has(hit.docId) || hit.similarity >= kth - TIE) found++;
  return Math.min(found, TOP_K) / TOP_K;
}

/**
 * memory.query's statement (src/memory/collection-store.ts, CollectionStore.search),
 * copied with its ORDER BY cut to the distance: the form an HNSW index can serve on Postgres 15.
 */
async function indexOrderedSearch(engine: SqlEngine, collection: Collection, vector: Float32Array, efSearch: number | undefined): Promise<Array<{ docId: string; similarity: number }>> {
  const rows = await engine.transaction(async (tx) => {
    if (efSearch !== undefined) await tx.exec(`SET LOCAL hnsw.ef_search = ${Math.trunc(efSearch)}`);
    return tx.query<{ doc_id: string; distance: number }>(
      `SELECT c.doc_id, c.chunk, c.text, c.embedding <=> $1::vector AS distance, d.metadata
       FROM ${chunkTable(collection)} c JOIN hearth_documents d ON d.collection_id = $2 AND d.doc_id = c.doc_id
       WHERE ($3::jsonb IS NULL OR d.metadata @> $3::jsonb)
         AND ($4::float8 IS NULL OR c.embedding <=> $1::vector <= 1 - $4::float8)
       ORDER BY c.embedding <=> $1::vector
       LIMIT $5`,
      [encodeVector(vector), collection.id, null, null, TOP_K],
    );
  });
  return rows.map((r) => ({ docId: r.doc_id, similarity: 1 - Number(r.distance) }));
}

/** The same Postgres with `hnsw.iterative_scan = relaxed_order` on every connection of its pool, from the connections' startup options. */
async function openIterative(target: MemoryTarget): Promise<OpenedMemory> {
  const url = new URL(target.databaseUrl!);
  url.searchParams.set('options', '-c hnsw.iterative_scan=relaxed_order');
  return openMemoryWithoutModels({ ...target, databaseUrl: url.toString() });
}
