import { HearthError } from '../../errors/index.js';
import { PyObject, type HyperValue } from './hyperpyyaml.js';

/** SpeechBrain's `Fbank` settings (speechbrain.lobes.features, 1.0). */
export interface FbankSettings {
  sampleRate: number;
  nFft: number;
  /** Window and hop in samples (SpeechBrain gives milliseconds). */
  winLength: number;
  hopLength: number;
  nMels: number;
  fMin: number;
  fMax: number;
  /** The floor below each utterance's peak, in dB (SpeechBrain's top_db). */
  topDb: number;
}

/** `ECAPA_TDNN`'s constructor arguments (speechbrain.lobes.models.ECAPA_TDNN). */
export interface EcapaShape {
  inputSize: number;
  channels: number[];
  kernelSizes: number[];
  dilations: number[];
  attentionChannels: number;
  res2netScale: number;
  seChannels: number;
  linNeurons: number;
  globalContext: boolean;
}

/** What a speaker-embedding recipe computes, read from its hyperparams.yaml. */
export interface SpeakerRecipe {
  fbank: FbankSettings;
  /** Per-utterance mean normalization of the features (InputNormalization, sentence). */
  sentenceNorm: boolean;
  ecapa: EcapaShape;
  /** Checkpoint files (repo-relative) by pretrainer loadable: embedding_model, mean_var_norm_emb, classifier, label_encoder. */
  checkpoints: Record<string, string>;
  /** The classifier's classes, when the recipe has one. */
  classes: number | undefined;
}

const FBANK = 'speechbrain.lobes.features.Fbank';
const INPUT_NORM = 'speechbrain.processing.features.InputNormalization';
const ECAPA = 'speechbrain.lobes.models.ECAPA_TDNN.ECAPA_TDNN';
const CLASSIFIER = 'speechbrain.lobes.models.ECAPA_TDNN.Classifier';
/** Modules an inference recipe may list that compute nothing hearth must reproduce. */
const INERT = new Set(['speechbrain.dataio.encoder.CategoricalEncoder', 'speechbrain.utils.parameter_transfer.Pretrainer']);

/**
 * Reads an ECAPA-TDNN speaker recipe (spkrec-ecapa-voxceleb's layout). Every module
 * in `modules` must be one hearth builds, with arguments it reproduces; anything
 * else is MODEL_UNSUPPORTED naming it, never an approximation.
 */
export function speakerRecipe(hparams: Record<string, HyperValue>, what: string): SpeakerRecipe {
  const modules = hparams.modules;
  if (!isRecord(modules)) throw unsupported(what, 'has no `modules` mapping, so it names no model to run');
  for (const [name, module] of Object.entries(modules)) {
    if (!(module instanceof PyObject)) throw unsupported(what, `modules.${name} is not a module`);
    if (![FBANK, INPUT_NORM, ECAPA, CLASSIFIER].includes(module.target) && !INERT.has(module.target)) {
      throw unsupported(what, `modules.${name} is ${module.target}, which hearth cannot build (it builds Fbank, InputNormalization, ECAPA_TDNN and its Classifier)`, { module: name, target: module.target });
    }
  }
  const features = moduleOf(modules, 'compute_features', FBANK, what);
  const embedding = moduleOf(modules, 'embedding_model', ECAPA, what);
  const sentence = optionalModule(modules, 'mean_var_norm', INPUT_NORM, what);
  const classifier = optionalModule(modules, 'classifier', CLASSIFIER, what);
  if (sentence) checkNorm(sentence, 'sentence', what);
  const embNorm = optionalModule(modules, 'mean_var_norm_emb', INPUT_NORM, what);
  if (embNorm) checkNorm(embNorm, 'global', what);
  return {
    fbank: fbankOf(features, what),
    sentenceNorm: sentence !== undefined,
    ecapa: ecapaOf(embedding, what),
    checkpoints: checkpointsOf(hparams, what),
    classes: classifier ? classifierOf(classifier, what) : undefined,
  };
}

function fbankOf(module: PyObject, what: string): FbankSettings {
  const a = args(module, what, ['deltas', 'context', 'requires_grad', 'sample_rate', 'f_min', 'f_max', 'n_fft', 'n_mels', 'filter_shape', 'param_change_factor', 'param_rand_factor', 'left_frames', 'right_frames', 'win_length', 'hop_length']);
  if (a.bool('deltas', false) || a.bool('context', false)) throw unsupported(what, 'compute_features: Fbank with deltas or context windows is not built by hearth');
  if (a.text('filter_shape', 'triangular') !== 'triangular') throw unsupported(what, 'compute_features: only triangular filters are built by hearth');
  const sampleRate = a.num('sample_rate', 16000);
  const ms = (v: number) => Math.round((sampleRate / 1000) * v);
  return {
    sampleRate,
    nFft: a.num('n_fft', 400),
    winLength: ms(a.num('win_length', 25)),
    hopLength: ms(a.num('hop_length', 10)),
    nMels: a.num('n_mels', 40),
    fMin: a.num('f_min', 0),
    fMax: a.num('f_max', sampleRate / 2),
    topDb: 80,
  };
}

function ecapaOf(module: PyObject, what: string): EcapaShape {
  const a = args(module, what, ['input_size', 'device', 'lin_neurons', 'channels', 'kernel_sizes', 'dilations', 'attention_channels', 'res2net_scale', 'se_channels', 'global_context', 'groups', 'dropout']);
  const groups = a.list('groups', [1, 1, 1, 1, 1]);
  if (groups.some((g) => g !== 1)) throw unsupported(what, 'embedding_model: grouped convolutions are not built by hearth');
  const shape: EcapaShape = {
    inputSize: a.num('input_size', Number.NaN),
    channels: a.list('channels', [512, 512, 512, 512, 1536]),
    kernelSizes: a.list('kernel_sizes', [5, 3, 3, 3, 1]),
    dilations: a.list('dilations', [1, 2, 3, 4, 1]),
    attentionChannels: a.num('attention_channels', 128),
    res2netScale: a.num('res2net_scale', 8),
    seChannels: a.num('se_channels', 128),
    linNeurons: a.num('lin_neurons', 192),
    globalContext: a.bool('global_context', true),
  };
  if (!Number.isInteger(shape.inputSize)) throw unsupported(what, 'embedding_model: input_size is missing');
  if (shape.channels.length < 3 || shape.kernelSizes.length !== shape.channels.length || shape.dilations.length !== shape.channels.length) {
    throw unsupported(what, 'embedding_model: channels, kernel_sizes and dilations must list the same number (at least 3) of layers');
  }
  return shape;
}

function classifierOf(module: PyObject, what: string): number {
  const a = args(module, what, ['input_size', 'device', 'lin_blocks', 'lin_neurons', 'out_neurons']);
  if (a.num('lin_blocks', 0) !== 0) throw unsupported(what, 'classifier: hidden linear blocks are not built by hearth');
  return a.num('out_neurons', 1211);
}

function checkNorm(module: PyObject, normType: string, what: string): void {
  const a = args(module, what, ['mean_norm', 'std_norm', 'norm_type', 'avg_factor', 'requires_grad', 'update_until_epoch']);
  // spkrec-ecapa-voxceleb normalizes means only; scaling by a deviation is another computation, so refuse it.
  if (a.text('norm_type', 'global') !== normType || !a.bool('mean_norm', true) || a.bool('std_norm', true)) {
    throw unsupported(what, `InputNormalization must be norm_type ${normType} with mean_norm and without std_norm, as spkrec-ecapa-voxceleb's is`);
  }
}

/**
 * The pretrainer's paths, as files of the folder being loaded. The real recipe says
 * `<pretrained_path>/embedding_model.ckpt` with pretrained_path a hub id; hearth reads the
 * files beside the recipe instead, the way SpeechBrain does with `pretrained_path` overridden.
 */
function checkpointsOf(hparams: Record<string, HyperValue>, what: string): Record<string, string> {
  const pretrainer = hparams.pretrainer;
  const paths = pretrainer instanceof PyObject ? pretrainer.args.paths : undefined;
  const defaults = { embedding_model: 'embedding_model.ckpt', mean_var_norm_emb: 'mean_var_norm_emb.ckpt', classifier: 'classifier.ckpt', label_encoder: 'label_encoder.txt' };
  if (!isRecord(paths)) return defaults;
  const base = typeof hparams.pretrained_path === 'string' ? hparams.pretrained_path.replace(/\/+$/, '') : undefined;
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(paths)) {
    if (typeof value !== 'string') throw unsupported(what, `pretrainer.paths.${name} is not a path`);
    const relative = base !== undefined && value.startsWith(`${base}/`) ? value.slice(base.length + 1) : value.slice(value.lastIndexOf('/') + 1);
    if (relative === '' || relative.includes('..') || relative.includes('\\')) throw unsupported(what, `pretrainer.paths.${name} (${value}) is not a file of this repo`);
    out[name] = relative;
  }
  return out;
}

function moduleOf(modules: Record<string, HyperValue>, name: string, target: string, what: string): PyObject {
  const module = optionalModule(modules, name, target, what);
  if (!module) throw unsupported(what, `modules.${name} is missing; a speaker recipe needs ${target.slice(target.lastIndexOf('.') + 1)} there`);
  return module;
}

function optionalModule(modules: Record<string, HyperValue>, name: string, target: string, what: string): PyObject | undefined {
  const module = modules[name];
  if (module === undefined) return undefined;
  if (!(module instanceof PyObject) || module.target !== target) throw unsupported(what, `modules.${name} must be ${target}`);
  return module;
}

function args(module: PyObject, what: string, known: string[]) {
  const unknown = Object.keys(module.args).filter((k) => !known.includes(k));
  if (unknown.length > 0 || module.positional.length > 0) {
    throw unsupported(what, `${module.className} has arguments hearth does not reproduce: ${unknown.join(', ') || 'positional arguments'}`, { target: module.target, arguments: unknown });
  }
  const get = (key: string) => module.args[key];
  const wrong = (key: string, kind: string) => unsupported(what, `${module.className}.${key} must be ${kind}`);
  return {
    num(key: string, fallback: number): number {
      const v = get(key);
      if (v === undefined || v === null) return fallback;
      if (typeof v !== 'number' || !Number.isFinite(v)) throw wrong(key, 'a number');
      return v;
    },
    bool(key: string, fallback: boolean): boolean {
      const v = get(key);
      if (v === undefined || v === null) return fallback;
      if (typeof v !== 'boolean') throw wrong(key, 'true or false');
      return v;
    },
    text(key: string, fallback: string): string {
      const v = get(key);
      if (v === undefined || v === null) return fallback;
      if (typeof v !== 'string') throw wrong(key, 'text');
      return v;
    },
    list(key: string, fallback: number[]): number[] {
      const v = get(key);
      if (v === undefined || v === null) return fallback;
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'number' || !Number.isInteger(x) || x <= 0)) throw wrong(key, 'a list of positive whole numbers');
      return v as number[];
    },
  };
}

function isRecord(value: HyperValue | undefined): value is Record<string, HyperValue> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof PyObject);
}

function unsupported(what: string, message: string, details: Record<string, unknown> = {}): HearthError {
  return new HearthError('MODEL_UNSUPPORTED', `${what}: ${message}`, { details });
}
