import type { BertOnnxOptions } from '../test/support/bert-onnx-fixture.js';
import type { BertFixtureOptions, LlamaFixtureOptions } from '../test/support/gguf-fixtures.js';
import { LLAMA_60M, MINILM_GGUF, QUICK_BERT, QUICK_LLAMA, QUICK_ONNX_SHAPE } from './models/fixtures.js';

/** Sizes and sweeps of one run: `full` for real numbers, `quick` for a harness check in minutes. */
export interface Profile {
  name: 'quick' | 'full';
  bert: BertFixtureOptions;
  llama: LlamaFixtureOptions;
  /** Overrides of the ONNX fixture's MiniLM-L6 shape, so the ONNX bert matches `bert`. */
  onnxShape: Partial<BertOnnxOptions>;
  /** Measurement window of one configuration. */
  measureMs: number;
  maxTexts: number;
  /** Window for baseline (a), which runs at a few texts per second. */
  defaultsMs: number;
  /** Direct node-llama-cpp embedding sweep, threads × contexts. */
  embedSweep: Array<{ threads: number; contexts: number }>;
  /** llama-server sweep, -t × -np. */
  serverSweep: Array<{ threads: number; parallel: number }>;
  ortThreads: number[];
  ortBatches: number[];
  transformersBatches: number[];
  genThreads: number[];
  /** HEARTH_THREADS values T1 compares the auto-tuned server against. */
  t1Threads: number[];
  genTokens: number;
  genRuns: number;
  benchRepetitions: number;
  /** HEARTH_TUNE_BUDGET for auto-tuned servers. */
  tuneBudget: string;
  concurrency: number;
  e2Texts: number;
  e2Calls: number;
  healthIntervalMs: number;
  pullBytes: number;
  /**
   * P1's rate-limited hub: a file of `pullThrottledBytes`, every connection
   * paced to `pullThrottleBytesPerSecond`. 9 pieces over hearth's 8
   * connections: a file that does not divide evenly, as real ones do not, so
   * the ideal is 4.5× one connection (two rounds of pieces), not 8×.
   */
  pullThrottledBytes: number;
  pullThrottleBytesPerSecond: number;
  /** HEARTH_PULL_PIECE_SIZE for that pull; undefined runs hearth's default (16 MiB). */
  pullThrottledPieceBytes: number | undefined;
  /** S1 restarts measured per repeat. */
  startups: number;
}

const grid = (threads: number[], other: number[], key: 'contexts' | 'parallel') =>
  threads.flatMap((t) => other.map((o) => ({ threads: t, [key]: o }))) as never[];

export function profile(quick: boolean): Profile {
  if (quick) {
    return {
      name: 'quick',
      bert: QUICK_BERT,
      llama: QUICK_LLAMA,
      onnxShape: QUICK_ONNX_SHAPE,
      measureMs: 1200,
      maxTexts: 4000,
      defaultsMs: 1500,
      embedSweep: [{ threads: 1, contexts: 2 }, { threads: 2, contexts: 1 }],
      serverSweep: [{ threads: 1, parallel: 4 }, { threads: 2, parallel: 16 }],
      ortThreads: [2],
      ortBatches: [1, 8],
      transformersBatches: [8],
      genThreads: [1],
      t1Threads: [1],
      genTokens: 32,
      genRuns: 2,
      benchRepetitions: 2,
      tuneBudget: '1s',
      concurrency: 16,
      e2Texts: 256,
      e2Calls: 1,
      healthIntervalMs: 10,
      pullBytes: 48 * 1024 * 1024,
      // The full profile's shape (9 pieces, curl ~1 s instead of ~5 s) with 4 MiB pieces: a
      // 9 × 16 MiB file at a rate that gets it in 1 s would be CPU-bound on a small machine.
      pullThrottledBytes: 36 * 1024 * 1024,
      pullThrottleBytesPerSecond: 36_000_000,
      pullThrottledPieceBytes: 4 * 1024 * 1024,
      startups: 1,
    };
  }
  return {
    name: 'full',
    bert: MINILM_GGUF,
    llama: LLAMA_60M,
    onnxShape: {},
    measureMs: 6000,
    maxTexts: 5000,
    defaultsMs: 8000,
    embedSweep: grid([1, 2], [1, 2, 4], 'contexts'),
    serverSweep: grid([1, 2], [1, 4, 16], 'parallel'),
    ortThreads: [1, 2],
    ortBatches: [1, 8, 16],
    transformersBatches: [1, 8, 16],
    genThreads: [1, 2],
    t1Threads: [1, 2],
    genTokens: 128,
    genRuns: 3,
    benchRepetitions: 3,
    tuneBudget: '4s',
    concurrency: 16,
    e2Texts: 256,
    e2Calls: 3,
    healthIntervalMs: 10,
    pullBytes: 384 * 1024 * 1024,
    // 9 default 16 MiB pieces; curl, on one connection, takes ~4.7 s.
    pullThrottledBytes: 144 * 1024 * 1024,
    pullThrottleBytesPerSecond: 32_000_000,
    pullThrottledPieceBytes: undefined,
    startups: 3,
  };
}
