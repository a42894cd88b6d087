import { HearthError, isHearthError } from '../errors/index.js';
import { quantTag, selectQuantFiles } from './quant.js';

/** The files one model needs out of a repo (or a local directory), primary first. */
export interface ModelSelection {
  format: 'onnx' | 'gguf' | 'speechbrain';
  /** The file a loader opens: the ONNX graph, the first part of a GGUF, or a SpeechBrain repo's hyperparams.yaml. */
  primary: string;
  /** Every selected path, repo-relative, `primary` first. */
  files: string[];
}

/** Root-level files a sentence-transformers / transformers.js ONNX model reads besides its graph. */
export const ONNX_SUPPORT_FILES = [
  'config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'vocab.txt',
  'merges.txt',
  'sentencepiece.bpe.model',
  'spiece.model',
  'modules.json',
  'sentence_bert_config.json',
  'config_sentence_transformers.json',
  // A speaker-embedding export's feature settings (speaker-export.ts).
  'hearth-speaker.json',
] as const;

/** A sentence-transformers module folder's config, e.g. "1_Pooling/config.json". */
const MODULE_CONFIG = /^\d+_[A-Za-z]+\/config\.json$/;
const SPLIT = /-(\d{5})-of-(\d{5})\.gguf$/i;
/** transformers.js dtype names whose file suffix differs from the name itself. */
const DTYPE_SUFFIX: Readonly<Record<string, string>> = { fp32: '', q8: 'quantized', quantized: 'quantized' };
export const DEFAULT_GGUF_QUANT = 'Q4_K_M';

/**
 * Chooses the files of one model from a repo listing.
 * Without a variant (`hf:<owner>/<repo>`): the default ONNX model (`model.onnx`)
 * when the repo has ONNX, else the default GGUF as Ollama's `hf.co/<owner>/<repo>`
 * picks it. With a variant (`hf:<owner>/<repo>:<tag>`): the GGUF quant when the
 * repo has GGUF files, else the ONNX variant named the way transformers.js names
 * dtypes (fp32, fp16, q8/quantized, int8, uint8, q4, q4f16, bnb4, or any
 * `model_<tag>.onnx`, such as sentence-transformers' qint8_avx512 or O3).
 * Weights in other formats (safetensors, bin, openvino…) are never selected.
 */
export function selectModelFiles(paths: readonly string[], variant: string | undefined, what: string): ModelSelection {
  const onnx = onnxCandidates(paths);
  const gguf = paths.filter((p) => p.toLowerCase().endsWith('.gguf'));
  let selection: ModelSelection;
  if (variant === undefined && isSpeechBrainRepo(paths)) selection = selectSpeechBrain(paths);
  else if (variant !== undefined && gguf.length > 0) selection = ggufSelection(selectQuantFiles(paths, variant, what));
  else if (onnx.length > 0) selection = selectOnnx(paths, onnx, variant, what);
  else if (variant === undefined && gguf.length > 0) selection = ggufSelection(defaultGguf(paths, what));
  else {
    throw new HearthError('MODEL_NOT_FOUND', `${what}: no model file found (looked for onnx/*.onnx, model*.onnx and *.gguf)`, {
      details: { looked: ['onnx/*.onnx', 'model*.onnx', '*.gguf'], quant: variant, available: [] },
      hint: 'hearth loads ONNX and GGUF models and SpeechBrain repos (hyperparams.yaml with *.ckpt); name a file (hf:<owner>/<repo>/<file>) to fetch anything else',
    });
  }
  return selection;
}

/** The ONNX file name a variant names: undefined and fp32 → model.onnx, q8 → model_quantized.onnx, t → model_t.onnx. */
export function onnxFileName(variant: string | undefined): string {
  const tag = variant === undefined ? '' : (DTYPE_SUFFIX[variant.toLowerCase()] ?? variant);
  return tag === '' ? 'model.onnx' : `model_${tag}.onnx`;
}

/** The variant name of an ONNX file, inverse of onnxFileName: model.onnx → fp32, model_quantized.onnx → q8. */
export function onnxVariant(path: string): string | undefined {
  const name = basename(path);
  if (name.toLowerCase() === 'model.onnx') return 'fp32';
  const tag = /^model_(.+)\.onnx$/i.exec(name)?.[1];
  return tag && (tag.toLowerCase() === 'quantized' ? 'q8' : tag);
}

/** True when a path looks like a model graph: `onnx/*.onnx`, or `model*.onnx` at the root. */
function onnxCandidates(paths: readonly string[]): string[] {
  return paths.filter((p) => /^onnx\/[^/]+\.onnx$/i.test(p) || /^model[^/]*\.onnx$/i.test(p));
}

function selectOnnx(paths: readonly string[], candidates: string[], variant: string | undefined, what: string): ModelSelection {
  const wanted = onnxFileName(variant).toLowerCase();
  // transformers.js and sentence-transformers keep their exports under onnx/; prefer it over the root.
  const primary =
    candidates.find((p) => p.toLowerCase() === `onnx/${wanted}`) ?? candidates.find((p) => p.toLowerCase() === wanted);
  if (!primary) {
    const available = [...new Set(candidates.map(onnxVariant).filter((v): v is string => v !== undefined))];
    throw new HearthError('MODEL_NOT_FOUND', `${what}: no ONNX model ${variant === undefined ? '' : `for variant ${variant} `}(looked for onnx/${onnxFileName(variant)} and ${onnxFileName(variant)})`, {
      details: { variant: variant ?? 'fp32', available },
      hint: available.length > 0 ? `available variants: ${available.join(', ')}` : `the repo's ONNX files are ${candidates.join(', ')}`,
    });
  }
  const external = paths.filter((p) => isExternalData(primary, p));
  external.sort((a, b) => dataIndex(a, primary) - dataIndex(b, primary) || (a < b ? -1 : 1));
  const support = paths.filter((p) => (ONNX_SUPPORT_FILES as readonly string[]).includes(p) || MODULE_CONFIG.test(p)).sort();
  return { format: 'onnx', primary, files: [primary, ...external, ...support] };
}

/** SpeechBrain's inference layout (`speechbrain/spkrec-ecapa-voxceleb`): a HyperPyYAML recipe beside its checkpoints. */
export const SPEECHBRAIN_RECIPE = 'hyperparams.yaml';
const SPEECHBRAIN_SUPPORT = ['label_encoder.txt'];

function isSpeechBrainRepo(paths: readonly string[]): boolean {
  return paths.includes(SPEECHBRAIN_RECIPE) && paths.some(isRootCheckpoint);
}

/** A checkpoint at the repo root: the files a recipe's pretrainer names with `<pretrained_path>/<file>`. */
function isRootCheckpoint(path: string): boolean {
  return !path.includes('/') && path.toLowerCase().endsWith('.ckpt');
}

// The recipe says which checkpoints it loads, but it is not read until the files are here; every root
// checkpoint is taken (the hub repos hold only the pretrainer's), and example audio and docs are left.
function selectSpeechBrain(paths: readonly string[]): ModelSelection {
  const checkpoints = paths.filter(isRootCheckpoint).sort();
  const support = paths.filter((p) => SPEECHBRAIN_SUPPORT.includes(p));
  return { format: 'speechbrain', primary: SPEECHBRAIN_RECIPE, files: [SPEECHBRAIN_RECIPE, ...checkpoints, ...support] };
}

/** True when `path` holds external weights of the ONNX graph `primary`: `<graph>_data`, `<graph>.data` or `<graph>_data_<n>`. */
export function isExternalData(primary: string, path: string): boolean {
  if (path === `${primary}_data` || path === `${primary}.data`) return true;
  return path.startsWith(`${primary}_data_`) && /^\d+$/.test(path.slice(`${primary}_data_`.length));
}

function dataIndex(path: string, primary: string): number {
  const n = /_data_(\d+)$/.exec(path.slice(primary.length))?.[1];
  return n === undefined ? 0 : Number(n);
}

/**
 * Ollama's rule for `hf.co/<owner>/<repo>` without a tag: Q4_K_M when the repo
 * has it, else the only GGUF model (a split set counts once), else a list.
 * Projector files (mmproj-*) are not models on their own and never the default.
 */
function defaultGguf(paths: readonly string[], what: string): string[] {
  try {
    return selectQuantFiles(paths, DEFAULT_GGUF_QUANT, what);
  } catch (error) {
    if (!isHearthError(error, 'MODEL_NOT_FOUND') || error.details.quant !== DEFAULT_GGUF_QUANT) throw error;
  }
  const models = paths.filter((p) => p.toLowerCase().endsWith('.gguf') && !basename(p).toLowerCase().startsWith('mmproj'));
  const groups = new Set(models.map((p) => p.replace(SPLIT, '')));
  if (groups.size === 1) return models.length === 1 ? models : orderedSplit(models, what);
  const available = [...new Set(models.map((p) => quantTag(p) ?? basename(p)))];
  throw new HearthError('MODEL_NOT_FOUND', `${what}: the repo has several GGUF models and no ${DEFAULT_GGUF_QUANT}; name one with a :<quant> tag`, {
    details: { quant: undefined, available },
    hint: `available quants: ${available.join(', ')}`,
  });
}

/** The parts of one split GGUF, in order, all present. */
function orderedSplit(parts: string[], what: string): string[] {
  const numbered = parts.map((p) => ({ p, m: SPLIT.exec(p) }));
  const sorted = numbered.sort((a, b) => Number(a.m?.[1]) - Number(b.m?.[1])).map((x) => x.p);
  const total = Number(numbered[0]?.m?.[2]);
  if (numbered.some((x, i) => Number(x.m?.[1]) !== i + 1 || Number(x.m?.[2]) !== total) || sorted.length !== total) {
    throw new HearthError('MODEL_NOT_FOUND', `${what}: split GGUF is incomplete (${sorted.length} of ${total} parts)`, { details: { parts: sorted } });
  }
  return sorted;
}

function ggufSelection(files: string[]): ModelSelection {
  return { format: 'gguf', primary: files[0]!, files };
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}
