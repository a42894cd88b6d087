import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DocumentInput } from '../../src/memory/memory.js';
import { buildHnsw, indexName, measureRecall, withIndexLock, type HnswParams } from '../../src/memory/hnsw-index.js';
import { chunkTable } from '../../src/memory/collection-store.js';
import { benchTexts } from '../texts.js';
import { CORPUS_SEED, MEMORY_TEXT_WORDS } from '../measure/memory-sizes.js';
import { childMain } from './child-io.js';
import { docId, openMemoryWithoutModels, readVectors, row, type MemoryTarget } from './memory-common.js';
import { rawCopyPglite, rawCopyPostgres, type RawRows } from './raw-copy.js';

/**
 * M1's bulk insert, and the stores M2 searches. Fills one collection with
 * the cached corpus vectors through `memory.add` (documents that bring their
 * own vectors: no model), timed from the documents in memory to add()
 * returning; with `raw`, also times the raw binary COPY baseline (raw-copy.ts)
 * of the same rows, before or after. With `build`, then gives the collection
 * its HNSW index the way Memory does when a collection reaches its threshold
 * (build under the index lock, recall measured, state recorded), timing the
 * build; with `exact`, also fills an unindexed collection of the first rows.
 */
export interface MemoryFillInput {
  target: MemoryTarget;
  corpusFile: string;
  dims: number;
  count: number;
  collection: string;
  /** Documents per binary COPY in the baseline: memory.add's own batch (BATCH_VECTORS). */
  batch: number;
  raw?: { first: boolean } | undefined;
  build?: (HnswParams & { efSearch: number; recallSamples: number }) | undefined;
  exact?: { collection: string; rows: number } | undefined;
  /** Drop the collection at the end (Postgres, where the database outlives the child). */
  drop?: boolean | undefined;
}

export interface MemoryFillResult {
  rows: number;
  /** The collection's id: its chunk table is hearth_chunks_<id>. */
  collectionId: number;
  addMs: number;
  rawMs?: number | undefined;
  build?: { ms: number; recallMs: number; recall: number | null; indexBytes: number; tableBytes: number } | undefined;
}

childMain<MemoryFillInput, MemoryFillResult>(async (input) => {
  const vectors = await readVectors(input.corpusFile, input.dims);
  if (vectors.length / input.dims < input.count) throw new Error(`the cache holds ${vectors.length / input.dims} vectors, not ${input.count}`);
  const texts = benchTexts({ count: input.count, words: MEMORY_TEXT_WORDS, seed: CORPUS_SEED });
  const rows: RawRows = { count: input.count, id: docId, text: (i) => texts[i]!, vector: (i) => row(vectors, input.dims, i) };
  const docs = (n: number): DocumentInput[] => Array.from({ length: n }, (_, i) => ({ id: docId(i), text: texts[i]!, vector: row(vectors, input.dims, i) }));

  const raw = async (): Promise<number> => {
    if (input.target.databaseUrl) return rawCopyPostgres(input.target.databaseUrl, `bench_raw_${input.collection}`, rows, input.dims, input.batch);
    const dir = join(input.target.home, 'raw-pglite');
    try {
      return await rawCopyPglite(dir, rows, input.dims, input.batch);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
  const result: MemoryFillResult = { rows: input.count, collectionId: 0, addMs: 0 };
  if (input.raw?.first) result.rawMs = await raw();

  // No index while filling: M1 measures the insert, and the build is timed on its own below.
  const opened = await openMemoryWithoutModels({ ...input.target, indexThreshold: Number.MAX_SAFE_INTEGER });
  try {
    const { memory, engine } = opened;
    const collection = await memory.store.create(input.collection, 'bench-vectors', input.dims);
    result.collectionId = collection.id;
    const all = docs(input.count);
    const started = performance.now();
    const report = await memory.add(input.collection, all);
    result.addMs = performance.now() - started;
    if (report.chunks !== input.count) throw new Error(`memory.add wrote ${report.chunks} chunks of ${input.count}`);

    if (input.exact) {
      await memory.store.create(input.exact.collection, 'bench-vectors', input.dims);
      await memory.add(input.exact.collection, all.slice(0, input.exact.rows));
    }
    if (input.build) {
      const { efSearch, recallSamples, ...params } = input.build;
      const buildStarted = performance.now();
      const built = await withIndexLock(engine, collection, async (session) => {
        await memory.store.setIndexState(collection, 'building', { params: { ...params } });
        await buildHnsw(session, engine.kind, collection, params);
        return true;
      });
      if (!built) throw new Error('another session holds the index lock');
      const ms = performance.now() - buildStarted;
      const recallStarted = performance.now();
      const recall = await measureRecall(engine, collection, { samples: recallSamples, k: 10, efSearch });
      const recallMs = performance.now() - recallStarted;
      await memory.store.setIndexState(collection, 'hnsw', { params: { ...params }, recall });
      const [sizes] = await engine.query<{ index: string; table: string }>(
        `SELECT pg_relation_size('${indexName(collection)}') AS index, pg_table_size('${chunkTable(collection)}') AS table`,
      );
      result.build = { ms, recallMs, recall, indexBytes: Number(sizes!.index), tableBytes: Number(sizes!.table) };
    }
    if (input.drop) await memory.drop(input.collection);
  } finally {
    await opened.close();
  }
  if (input.raw && !input.raw.first) result.rawMs = await raw();
  return result;
});
