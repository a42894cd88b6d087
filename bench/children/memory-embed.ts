import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { createPool } from '../../src/pool/create-pool.js';
import { createStore } from '../../src/store/index.js';
import { benchTexts } from '../texts.js';
import { childMain } from './child-io.js';
import { CORPUS_SEED, MEMORY_TEXT_WORDS, QUERY_SEED, TOP_K } from '../measure/memory-sizes.js';

/**
 * Makes M2's vectors once: the corpus and query texts embedded by the
 * MiniLM-shaped ONNX model through hearth's own pool (the vectors memory.add
 * would store), and the exact top-k of every query, computed here in float64
 * over the whole corpus and over its first `exactRows` rows. Written to a
 * temporary folder and renamed into place, so a cache entry is whole or absent.
 */
export interface MemoryEmbedInput {
  model: string;
  home: string;
  out: string;
  corpus: number;
  queries: number;
  exactRows: number;
  batch: number;
}

export interface Neighbours {
  /** Row indexes of each query's exact top k, nearest first. */
  ids: number[][];
  /** Their cosine similarities. */
  sims: number[][];
}

export interface MemoryTruth {
  k: number;
  full: Neighbours;
  exact: Neighbours;
  /** How embedding-like the vectors are: random unit vectors in 384-d have a nearest-neighbour cosine near 0.22 at 100k. */
  stats: { meanTop1: number; meanTopK: number; meanRandomPair: number };
}

export interface MemoryEmbedResult {
  dims: number;
  embedMs: number;
  truthMs: number;
  textsPerSecond: number;
  stats: MemoryTruth['stats'];
}

childMain<MemoryEmbedInput, MemoryEmbedResult>(async (input, tools) => {
  const config = loadConfig({ HEARTH_HOME: input.home, HEARTH_OFFLINE: '1' });
  const store = createStore({ config, logger: silentLogger });
  const pool = createPool({ config, store, logger: silentLogger });
  const corpusTexts = benchTexts({ count: input.corpus, words: MEMORY_TEXT_WORDS, seed: CORPUS_SEED });
  const queryTexts = benchTexts({ count: input.queries, words: MEMORY_TEXT_WORDS, seed: QUERY_SEED });
  const lease = await pool.acquire(input.model);
  let dims = 0;
  const started = performance.now();
  const embedAll = async (texts: string[], label: string): Promise<Float32Array> => {
    let out: Float32Array | undefined;
    for (let at = 0; at < texts.length; at += input.batch) {
      const { vectors } = await lease.model.embed(texts.slice(at, at + input.batch), { truncate: false });
      dims ||= vectors[0]!.length;
      out ??= new Float32Array(texts.length * dims);
      vectors.forEach((v, i) => out!.set(v, (at + i) * dims));
      if (Math.floor((at + input.batch) / 10_000) > Math.floor(at / 10_000)) tools.emit({ label, done: Math.min(texts.length, at + input.batch), total: texts.length });
    }
    return out!;
  };
  let corpus: Float32Array;
  let queries: Float32Array;
  try {
    corpus = await embedAll(corpusTexts, 'corpus');
    queries = await embedAll(queryTexts, 'queries');
  } finally {
    lease.release();
    await pool.dispose();
    await store.dispose();
  }
  const embedMs = performance.now() - started;
  const truthStarted = performance.now();
  const truth = exactNeighbours(corpus, queries, dims, input.exactRows);
  const truthMs = performance.now() - truthStarted;

  const tmp = `${input.out}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await writeFile(join(tmp, 'corpus.f32'), new Uint8Array(corpus.buffer, corpus.byteOffset, corpus.byteLength));
  await writeFile(join(tmp, 'queries.f32'), new Uint8Array(queries.buffer, queries.byteOffset, queries.byteLength));
  await writeFile(join(tmp, 'truth.json'), JSON.stringify(truth));
  const result: MemoryEmbedResult = { dims, embedMs, truthMs, textsPerSecond: (input.corpus + input.queries) / (embedMs / 1000), stats: truth.stats };
  await writeFile(join(tmp, 'meta.json'), JSON.stringify({ ...result, corpus: input.corpus, queries: input.queries, exactRows: input.exactRows, model: input.model }, null, 2));
  await rm(input.out, { recursive: true, force: true });
  await rename(tmp, input.out);
  return result;
});

/** Brute force, in float64: the reference every engine's answers are scored against. */
function exactNeighbours(corpus: Float32Array, queries: Float32Array, dims: number, exactRows: number): MemoryTruth {
  const n = corpus.length / dims;
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) norms[i] = norm(corpus, i * dims, dims);
  const full: Neighbours = { ids: [], sims: [] };
  const exact: Neighbours = { ids: [], sims: [] };
  let top1 = 0;
  let topK = 0;
  for (let q = 0; q < queries.length / dims; q++) {
    const qo = q * dims;
    const qn = norm(queries, qo, dims);
    const best = new TopK(TOP_K);
    const prefix = new TopK(TOP_K);
    for (let i = 0; i < n; i++) {
      let dot = 0;
      const co = i * dims;
      for (let d = 0; d < dims; d++) dot += queries[qo + d]! * corpus[co + d]!;
      const sim = dot / (qn * norms[i]!);
      best.offer(i, sim);
      if (i < exactRows) prefix.offer(i, sim);
    }
    for (const [target, top] of [[full, best], [exact, prefix]] as const) {
      target.ids.push(top.ids);
      target.sims.push(top.sims);
    }
    top1 += best.sims[0]!;
    topK += best.sims[TOP_K - 1]!;
  }
  const nq = queries.length / dims;
  // Pairs of corpus rows picked by a fixed stride: what two unrelated texts score.
  let random = 0;
  const pairs = Math.min(10_000, n - 1);
  for (let p = 0; p < pairs; p++) {
    const a = (p * 7919) % n;
    const b = (p * 104_729 + 1) % n;
    let dot = 0;
    for (let d = 0; d < dims; d++) dot += corpus[a * dims + d]! * corpus[b * dims + d]!;
    random += dot / (norms[a]! * norms[b]!);
  }
  return { k: TOP_K, full, exact, stats: { meanTop1: top1 / nq, meanTopK: topK / nq, meanRandomPair: random / pairs } };
}

function norm(v: Float32Array, at: number, dims: number): number {
  let s = 0;
  for (let d = 0; d < dims; d++) s += v[at + d]! * v[at + d]!;
  return Math.sqrt(s);
}

/** The k best (highest) similarities seen, kept sorted; k is small, so insertion is enough. */
class TopK {
  ids: number[] = [];
  sims: number[] = [];
  constructor(private readonly k: number) {}
  offer(id: number, sim: number): void {
    if (this.sims.length === this.k && sim <= this.sims[this.k - 1]!) return;
    let at = this.sims.length;
    while (at > 0 && this.sims[at - 1]! < sim) at--;
    this.sims.splice(at, 0, sim);
    this.ids.splice(at, 0, id);
    if (this.sims.length > this.k) {
      this.sims.pop();
      this.ids.pop();
    }
  }
}
