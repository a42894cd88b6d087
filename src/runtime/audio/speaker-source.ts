import type { ModelInfo } from '../types.js';

/** What a speaker model is made of, whichever files it came from: a SpeechBrain repo, or an ONNX export with its sidecar. */
export interface SpeakerSource {
  info: ModelInfo;
  /** The graph: bytes built in memory, or the path of an exported .onnx (external data beside it is found by ONNX Runtime). */
  graph: Uint8Array | string;
  names: SpeakerGraphNames;
  /** sha256 of the weights: what the vectors come from. */
  digest: string | undefined;
  sentenceNorm: boolean;
  /** Subtracted when a caller asks for normalize; undefined when the model has none. */
  embeddingMean: Float32Array | undefined;
  /** The shortest clip the graph takes, in samples at 16 kHz. */
  minSamples: number;
}

/** The graph's input and output names: features [batch, frames, 80], relative lengths [batch] when it takes them, and the embedding. */
export interface SpeakerGraphNames {
  features: string;
  lengths: string | undefined;
  output: string;
}

/** Working memory of one session beyond its weights: arena and activations of a batch of long clips. */
export const SESSION_OVERHEAD_BYTES = 96 * 1024 * 1024;
