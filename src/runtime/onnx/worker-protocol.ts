import type { TokenPooling } from './pooling.js';

/** What the main thread tells a session worker at start. */
export interface WorkerSetup {
  modelPath: string;
  threads: number;
}

/** One padded batch: row-major ids [rows, seqLen], right-padded; `lengths` are the real row lengths. */
export interface BatchRequest {
  type: 'run';
  id: number;
  ids: Int32Array;
  rows: number;
  seqLen: number;
  lengths: number[];
  pooling: TokenPooling;
}

export type WorkerRequest = BatchRequest | { type: 'dispose' };

export interface SessionShape {
  inputs: string[];
  output: string;
  /** The output's last dimension, when the graph states it. */
  hidden: number | undefined;
}

export type WorkerReply =
  | ({ type: 'ready' } & SessionShape)
  | { type: 'result'; id: number; vectors: Float32Array; hidden: number }
  | { type: 'failed'; id: number | undefined; message: string };
