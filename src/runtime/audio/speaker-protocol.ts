import type { AudioInput } from '../types.js';

/** What the main thread tells a speaker thread at start. */
export interface SpeakerSetup {
  /** The ECAPA-TDNN graph, built in memory from the checkpoint. */
  graph: Uint8Array;
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
