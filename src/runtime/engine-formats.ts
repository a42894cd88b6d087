import { modelFormat, type ModelFileNames, type ModelFormat } from '../formats/index.js';

/**
 * The formats each engine runs. A backend and its lazily imported stand-in
 * (lazy-backend.ts) both accept exactly these, so they cannot disagree.
 */
export const ENGINE_FORMATS = {
  llama: ['gguf'],
  speaker: ['speechbrain', 'speaker-onnx'],
  onnx: ['onnx-encoder'],
} as const satisfies Record<string, readonly ModelFormat[]>;

/** True when the model's format, told from its file names, is one of these. */
export function hasFormat(model: ModelFileNames, formats: readonly ModelFormat[]): boolean {
  const format = modelFormat(model);
  return format !== undefined && formats.includes(format);
}
