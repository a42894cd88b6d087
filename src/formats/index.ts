/**
 * Format knowledge: which files make a model (GGUF, ONNX, a SpeechBrain repo) and how to read
 * the ones hearth parses itself. The store selects files with it and the runtime loads them with it.
 */
export { selectModelFiles, onnxFileName, onnxVariant, isExternalData, DEFAULT_GGUF_QUANT, ONNX_SUPPORT_FILES, SPEECHBRAIN_RECIPE, type ModelSelection } from './model-files.js';
export { modelFormat, type ModelFileNames, type ModelFormat } from './model-format.js';
export { quantTag, selectQuantFiles } from './quant.js';
export { isSpeakerExport, parseSpeakerSidecar, SPEAKER_SIDECAR, type SpeakerSidecar } from './speaker-export.js';
