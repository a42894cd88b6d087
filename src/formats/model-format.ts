import { SPEECHBRAIN_RECIPE } from './model-files.js';
import { isSpeakerExport } from './speaker-export.js';

/** The file names a format is told by: no file is read. */
export interface ModelFileNames {
  /** The primary file: its path in the repository, and where it lies on disk. */
  primary: { path: string; localPath: string };
  files: ReadonlyArray<{ path: string }>;
}

/** Which engine family runs a model; each backend accepts one. */
export type ModelFormat = 'gguf' | 'onnx-encoder' | 'speechbrain' | 'speaker-onnx';

/**
 * A model's format from its file names: a GGUF file; a SpeechBrain repo (its
 * hyperparams.yaml); an ONNX export with hearth's speaker sidecar; or any
 * other ONNX graph, an encoder. Undefined when no backend loads it.
 */
export function modelFormat(model: ModelFileNames): ModelFormat | undefined {
  const primary = model.primary.path.toLowerCase();
  if (primary.endsWith('.gguf') || model.primary.localPath.toLowerCase().endsWith('.gguf')) return 'gguf';
  if (model.primary.path === SPEECHBRAIN_RECIPE || model.primary.path.endsWith(`/${SPEECHBRAIN_RECIPE}`)) return 'speechbrain';
  if (primary.endsWith('.onnx')) {
    return isSpeakerExport(model.primary.path, model.files.map((f) => f.path)) ? 'speaker-onnx' : 'onnx-encoder';
  }
  return undefined;
}
