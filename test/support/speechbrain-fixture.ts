/**
 * A SpeechBrain speaker repo laid out like the Hugging Face repo `speechbrain/spkrec-ecapa-voxceleb`, with seeded
 * random weights of any ECAPA-TDNN shape: hyperparams.yaml (the real file's text with the shape's sizes put in),
 * the three checkpoints as SpeechBrain's save hooks write them (through torch-writer.ts), and label_encoder.txt.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EcapaShape } from '../../src/formats/speechbrain/index.js';
import type { TorchTensor } from '../../src/formats/torch/types.js';
import { randomEcapaState } from '../../src/runtime/audio/ecapa-state.js';
import { tensorSeed } from './tensor-seed.js';
import { writeTorchCheckpoint, type TorchEntry } from './torch-writer.js';

/** A narrow ECAPA of the real layout (channels divisible by res2net's 8, MFA sizes adding up): quick to write, load and run in tests. */
export const TINY_ECAPA: EcapaShape = { inputSize: 80, channels: [64, 64, 64, 64, 192], kernelSizes: [5, 3, 3, 3, 1], dilations: [1, 2, 3, 4, 1], attentionChannels: 16, res2netScale: 8, seChannels: 32, linNeurons: 48, globalContext: true };

/** The reference repo's model: `../shared/audio/ecapa-small`'s hyperparams.yaml over ECAPA_TDNN's defaults. */
export const REFERENCE_ECAPA: EcapaShape = { ...TINY_ECAPA, channels: [256, 256, 256, 256, 768], attentionChannels: 64, seChannels: 128, linNeurons: 192 };

export interface SpeechBrainRepoOptions {
  shape: EcapaShape;
  seed: number;
  /** The classifier's speakers (the real repo has 7205); 10 by default, as the reference set has. */
  classes?: number;
}

/** Writes the repo's five files into `dir` (created if missing). The same options give the same bytes. */
export async function writeSpeechBrainRepo(dir: string, options: SpeechBrainRepoOptions): Promise<void> {
  const { shape, seed } = options;
  const classes = options.classes ?? 10;
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'hyperparams.yaml'), speechBrainHyperparams(shape, classes));
  // torch.save(embedding_model.state_dict()): an OrderedDict with every module's version in _metadata.
  const state = new Map<string, TorchEntry>();
  for (const [key, value] of randomEcapaState(shape, seed)) state.set(key, value as TorchTensor);
  await writeTorchCheckpoint(join(dir, 'embedding_model.ckpt'), state, 'embedding_model', { metadata: ecapaModuleVersions(shape) });
  // InputNormalization._save writes a plain dict; SpeechBrain >= 1.0 keeps only these three.
  const norm = new Map<string, TorchEntry>([
    ['count', 40],
    ['glob_mean', uniform([shape.linNeurons], seed, 'glob_mean', -1, 1)],
    ['glob_std', uniform([shape.linNeurons], seed, 'glob_std', 0.5, 1.5)],
  ]);
  await writeTorchCheckpoint(join(dir, 'mean_var_norm_emb.ckpt'), norm, 'mean_var_norm_emb', { container: 'plain' });
  // Classifier's state dict: its `weight` Parameter, and an empty `blocks` ModuleList in _metadata.
  const bound = Math.sqrt(6 / (classes + shape.linNeurons));
  const classifier = new Map<string, TorchEntry>([['weight', uniform([classes, shape.linNeurons], seed, 'classifier.weight', -bound, bound)]]);
  await writeTorchCheckpoint(join(dir, 'classifier.ckpt'), classifier, 'classifier', { metadata: new Map([['', 1], ['blocks', 1]]) });
  await writeFile(join(dir, 'label_encoder.txt'), labelEncoderText(classes));
}

/** CategoricalEncoder.save's text for `classes` speakers id10001, id10002, ... */
export function labelEncoderText(classes: number): string {
  const lines = Array.from({ length: classes }, (_, i) => `'id${10001 + i}' => ${i}`);
  return `${[...lines, '================', "'starting_index' => 0"].join('\n')}\n`;
}

/** ECAPA_TDNN's defaults the real hyperparams.yaml leaves out; a shape that differs gets them written. */
const UNWRITTEN_DEFAULTS = { res2netScale: 8, seChannels: 128, globalContext: true } as const;

/**
 * spkrec-ecapa-voxceleb's hyperparams.yaml, text and layout (its two whitespace-only lines too), with `shape` and
 * `classes` in place of the real sizes. `pretrained_path` stays the hub id, as in the real file, so a loader must
 * resolve `<pretrained_path>/x.ckpt` to the folder itself.
 */
export function speechBrainHyperparams(shape: EcapaShape, classes: number): string {
  const list = (values: readonly number[]) => `[${values.join(', ')}]`;
  const extra = [
    ...(shape.res2netScale !== UNWRITTEN_DEFAULTS.res2netScale ? [`    res2net_scale: ${shape.res2netScale}`] : []),
    ...(shape.seChannels !== UNWRITTEN_DEFAULTS.seChannels ? [`    se_channels: ${shape.seChannels}`] : []),
    ...(shape.globalContext !== UNWRITTEN_DEFAULTS.globalContext ? [`    global_context: ${shape.globalContext ? 'True' : 'False'}`] : []),
  ];
  const blank = ' '.repeat(8);
  const lines = [
    '# ############################################################################',
    '# Model: ECAPA big for Speaker verification',
    '# ############################################################################',
    '',
    '# Feature parameters',
    `n_mels: ${shape.inputSize}`,
    '',
    '# Pretrain folder (HuggingFace)',
    'pretrained_path: speechbrain/spkrec-ecapa-voxceleb',
    '',
    '# Output parameters',
    `out_n_neurons: ${classes}`,
    '',
    '# Model params',
    'compute_features: !new:speechbrain.lobes.features.Fbank',
    '    n_mels: !ref <n_mels>',
    '',
    'mean_var_norm: !new:speechbrain.processing.features.InputNormalization',
    '    norm_type: sentence',
    '    std_norm: False',
    '',
    'embedding_model: !new:speechbrain.lobes.models.ECAPA_TDNN.ECAPA_TDNN',
    '    input_size: !ref <n_mels>',
    `    channels: ${list(shape.channels)}`,
    `    kernel_sizes: ${list(shape.kernelSizes)}`,
    `    dilations: ${list(shape.dilations)}`,
    `    attention_channels: ${shape.attentionChannels}`,
    `    lin_neurons: ${shape.linNeurons}`,
    ...extra,
    '',
    'classifier: !new:speechbrain.lobes.models.ECAPA_TDNN.Classifier',
    `    input_size: ${shape.linNeurons}`,
    '    out_neurons: !ref <out_n_neurons>',
    '',
    'mean_var_norm_emb: !new:speechbrain.processing.features.InputNormalization',
    '    norm_type: global',
    '    std_norm: False',
    '',
    'modules:',
    '    compute_features: !ref <compute_features>',
    '    mean_var_norm: !ref <mean_var_norm>',
    '    embedding_model: !ref <embedding_model>',
    '    mean_var_norm_emb: !ref <mean_var_norm_emb>',
    '    classifier: !ref <classifier>',
    blank,
    'label_encoder: !new:speechbrain.dataio.encoder.CategoricalEncoder',
    '',
    blank,
    'pretrainer: !new:speechbrain.utils.parameter_transfer.Pretrainer',
    '    loadables:',
    '        embedding_model: !ref <embedding_model>',
    '        mean_var_norm_emb: !ref <mean_var_norm_emb>',
    '        classifier: !ref <classifier>',
    '        label_encoder: !ref <label_encoder>',
    '    paths:',
    '        embedding_model: !ref <pretrained_path>/embedding_model.ckpt',
    '        mean_var_norm_emb: !ref <pretrained_path>/mean_var_norm_emb.ckpt',
    '        classifier: !ref <pretrained_path>/classifier.ckpt',
    '        label_encoder: !ref <pretrained_path>/label_encoder.txt',
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * `ECAPA_TDNN(...).state_dict()._metadata`: every module's prefix in registration order with its version (torch's
 * BatchNorm1d is 2, everything else 1), parameterless modules (activations, dropout) included.
 */
export function ecapaModuleVersions(shape: EcapaShape): Map<string, number> {
  const out = new Map<string, number>([['', 1]]);
  const add = (...prefixes: string[]) => prefixes.forEach((p) => out.set(p, 1));
  const tdnn = (p: string) => {
    add(p, `${p}.conv`, `${p}.conv.conv`, `${p}.activation`, `${p}.norm`);
    out.set(`${p}.norm.norm`, 2);
    add(`${p}.dropout`);
  };
  const n = shape.channels.length;
  add('blocks');
  tdnn('blocks.0');
  for (let i = 1; i < n - 1; i++) {
    const p = `blocks.${i}`;
    add(p);
    tdnn(`${p}.tdnn1`);
    add(`${p}.res2net_block`, `${p}.res2net_block.blocks`);
    for (let j = 0; j < shape.res2netScale - 1; j++) tdnn(`${p}.res2net_block.blocks.${j}`);
    tdnn(`${p}.tdnn2`);
    add(`${p}.se_block`, `${p}.se_block.conv1`, `${p}.se_block.conv1.conv`, `${p}.se_block.relu`, `${p}.se_block.conv2`, `${p}.se_block.conv2.conv`, `${p}.se_block.sigmoid`);
    if (shape.channels[i - 1] !== shape.channels[i]) add(`${p}.shortcut`, `${p}.shortcut.conv`);
  }
  tdnn('mfa');
  add('asp');
  tdnn('asp.tdnn');
  add('asp.tanh', 'asp.conv', 'asp.conv.conv', 'asp_bn');
  out.set('asp_bn.norm', 2);
  add('fc', 'fc.conv');
  return out;
}

/** A float32 tensor of seeded uniform values in [lo, hi), its stream named by `name` so tensors do not depend on each other. */
function uniform(shape: number[], seed: number, name: string, lo: number, hi: number): TorchTensor {
  let a = tensorSeed(seed, name);
  const data = new Float32Array(shape.reduce((x, y) => x * y, 1));
  for (let i = 0; i < data.length; i++) {
    // mulberry32
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    data[i] = lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  }
  return { dtype: 'float32', shape, data };
}
