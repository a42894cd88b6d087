/**
 * Sizes of the memory scenarios (M1–M3). The full sizes are issue 14's; the
 * quick ones only show that the harness works, in a minute or two on 2 vCPUs.
 */
export interface MemorySizes {
  /** Corpus rows: M1's bulk insert, M2's HNSW store. */
  corpus: number;
  /** Query vectors (texts outside the corpus) for M2's latency and recall. */
  queries: number;
  /** Untimed queries before each pass's measured ones. */
  warmup: number;
  /** A pass stops after this long once it has minQueries answers (a plan that scans every row stays bounded). */
  passMaxMs: number;
  minQueries: number;
  /** Rows of the collection M2 searches exactly (no index), in PGlite. */
  exactRows: number;
  /** hnsw.ef_search values M2 measures; the library's default (100) among them. */
  efSearches: number[];
  /** ef_search values M2 also measures with `hnsw.iterative_scan = relaxed_order`. */
  iterativeEfSearches: number[];
  /** M3's short documents. */
  documents: number;
  /** Texts per model call in M3's embedding baseline: memory.add's own batch (BATCH_CHUNKS in src/memory/memory.ts). */
  embedBatch: number;
}

export function memorySizes(quick: boolean): MemorySizes {
  const common = { efSearches: [40, 100, 200], iterativeEfSearches: [100], embedBatch: 64 };
  return quick
    ? { ...common, corpus: 3000, queries: 100, warmup: 10, passMaxMs: 5000, minQueries: 20, exactRows: 1000, documents: 300 }
    : { ...common, corpus: 100_000, queries: 1000, warmup: 50, passMaxMs: 30_000, minQueries: 100, exactRows: 10_000, documents: 10_000 };
}

/** Words per text: the same ~20-token sentences as the embedding scenarios (bench/texts.ts). */
export const MEMORY_TEXT_WORDS = 18;
/** Seeds of the corpus and the query texts (the query texts are not in the corpus). */
export const CORPUS_SEED = 14_001;
export const QUERY_SEED = 14_002;
/** recall@k's k, and the query's top_k. */
export const TOP_K = 10;
