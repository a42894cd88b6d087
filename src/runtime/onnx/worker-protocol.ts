import type { TokenPooling } from './pooling.js';

/** What the main thread tells a session worker at start. */
export interface WorkerSetup {
  modelPath: string;
  threads: number;
}

/** One padded batch: row-major ids [rows, seqLen], right-padded; `lengths` are the real row lengths. */
export interface BatchRequest {
  ids: Int32Array;
  rows: number;
  seqLen: number;
  lengths: number[];
  pooling: TokenPooling;
}

/** Pooled vectors, row-major [rows, hidden]. */
export interface BatchResult {
  vectors: Float32Array;
  hidden: number;
}

export interface SessionShape {
  inputs: string[];
  output: string;
  /** The output's last dimension, when the graph states it. */
  hidden: number | undefined;
}
