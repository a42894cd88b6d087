import type { AudioInput } from '../types.js';
import type { SpeakerGraphNames } from './speaker-source.js';

/** What the main thread tells a speaker thread at start. */
export interface SpeakerSetup {
  /** The graph: built in memory from a checkpoint, or an exported file's path. */
  graph: Uint8Array | string;
  names: SpeakerGraphNames;
  threads: number;
  /** Per-utterance mean normalization of the features (the recipe's mean_var_norm). */
  sentenceNorm: boolean;
}

export interface SpeakerReady {
  dims: number;
}

/** Clips whose waves all give the same number of frames at 16 kHz, so they batch without padding. */
export interface SpeakerBatch {
  clips: AudioInput[];
}

/** Embeddings, row-major [clips, dims]. */
export interface SpeakerBatchResult {
  vectors: Float32Array;
  dims: number;
}
