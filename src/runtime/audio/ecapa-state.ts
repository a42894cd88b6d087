/**
 * The state-dict keys and shapes ECAPA_TDNN registers (they follow its PyTorch module tree: SpeechBrain's Conv1d and
 * BatchNorm1d wrap torch's as `.conv` and `.norm`, hence `blocks.0.conv.conv.weight`), a check of a loaded state dict
 * against them, and deterministic random weights so benchmarks can build a full-size graph without a checkpoint.
 */
import type { StateDict, TorchTensor } from '../../formats/torch/types.js';
import { isTorchTensor } from '../../formats/torch/types.js';
import { HearthError } from '../../errors/index.js';
import type { EcapaShape } from './ecapa-graph.js';

/** What a float parameter is, which decides how `randomEcapaState` fills it. */
export type EcapaParamKind = 'conv.weight' | 'conv.bias' | 'bn.weight' | 'bn.bias' | 'bn.running_mean' | 'bn.running_var';

export interface EcapaParam {
  key: string;
  shape: number[];
  kind: EcapaParamKind;
  /** in_channels·kernel_size of the convolution the parameter belongs to (0 for BatchNorm). */
  fanIn: number;
}

/** Every float parameter and running statistic, in module registration order (as `state_dict()` lists them). */
export function ecapaParameters(shape: EcapaShape): EcapaParam[] {
  const params: EcapaParam[] = [];
  const conv = (p: string, inC: number, outC: number, k: number): void => {
    params.push({ key: `${p}.conv.weight`, shape: [outC, inC, k], kind: 'conv.weight', fanIn: inC * k });
    params.push({ key: `${p}.conv.bias`, shape: [outC], kind: 'conv.bias', fanIn: inC * k });
  };
  const bn = (p: string, c: number): void => {
    for (const kind of ['bn.weight', 'bn.bias', 'bn.running_mean', 'bn.running_var'] as const) {
      params.push({ key: `${p}.norm.${kind.slice(3)}`, shape: [c], kind, fanIn: 0 });
    }
  };
  const tdnn = (p: string, inC: number, outC: number, k: number): void => {
    conv(`${p}.conv`, inC, outC, k);
    bn(`${p}.norm`, outC);
  };
  const { channels: ch, kernelSizes: ks } = shape;
  const n = ch.length;
  tdnn('blocks.0', shape.inputSize, ch[0]!, ks[0]!);
  for (let i = 1; i < n - 1; i++) {
    const p = `blocks.${i}`;
    const c = ch[i]!;
    const hidden = c / shape.res2netScale;
    tdnn(`${p}.tdnn1`, ch[i - 1]!, c, 1);
    for (let j = 0; j < shape.res2netScale - 1; j++) tdnn(`${p}.res2net_block.blocks.${j}`, hidden, hidden, ks[i]!);
    tdnn(`${p}.tdnn2`, c, c, 1);
    conv(`${p}.se_block.conv1`, c, shape.seChannels, 1);
    conv(`${p}.se_block.conv2`, shape.seChannels, c, 1);
    if (ch[i - 1] !== c) conv(`${p}.shortcut`, ch[i - 1]!, c, 1);
  }
  const last = ch[n - 1]!;
  tdnn('mfa', ch[n - 2]! * (n - 2), last, ks[n - 1]!);
  tdnn('asp.tdnn', shape.globalContext ? last * 3 : last, shape.attentionChannels, 1);
  conv('asp.conv', shape.attentionChannels, last, 1);
  bn('asp_bn', last * 2);
  conv('fc', last * 2, shape.linNeurons, 1);
  return params;
}

/**
 * Throws MODEL_UNSUPPORTED naming the first key that is missing, not float32, or of the wrong shape. Keys the model
 * does not use (`num_batches_tracked`, leftovers) are ignored, as SpeechBrain's non-strict loading does.
 */
export function checkEcapaState(state: StateDict, shape: EcapaShape, what: string): void {
  for (const p of ecapaParameters(shape)) {
    const value = state.get(p.key);
    if (value === undefined) {
      throw new HearthError('MODEL_UNSUPPORTED', `${what}: the checkpoint has no ${p.key} (ECAPA-TDNN expects it with shape [${p.shape.join(', ')}])`, {
        details: { key: p.key, expected: p.shape },
      });
    }
    if (!isTorchTensor(value) || value.dtype !== 'float32' || !sameShape(value.shape, p.shape)) {
      const got = isTorchTensor(value) ? `${value.dtype} [${value.shape.join(', ')}]` : typeof value;
      throw new HearthError('MODEL_UNSUPPORTED', `${what}: ${p.key} is ${got}, ECAPA-TDNN expects float32 [${p.shape.join(', ')}]`, {
        details: { key: p.key, expected: p.shape, actual: isTorchTensor(value) ? { dtype: value.dtype, shape: value.shape } : typeof value },
      });
    }
  }
}

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * A deterministic random state dict with exactly ECAPA_TDNN's keys and shapes (BatchNorm `num_batches_tracked` too).
 * Convolutions get PyTorch's default-init range ±1/√fan_in; BatchNorm gets weights near 1, small biases and means, and
 * running variances in [0.5, 1.5], so activations stay O(1) through the network and the embedding is finite.
 */
export function randomEcapaState(shape: EcapaShape, seed: number): StateDict {
  const state: StateDict = new Map();
  for (const p of ecapaParameters(shape)) {
    const next = mulberry32(fnv1a(p.key, fnv1a(String(seed))));
    const [lo, hi] = range(p);
    const data = new Float32Array(p.shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = lo + (hi - lo) * next();
    state.set(p.key, { dtype: 'float32', shape: p.shape, data } satisfies TorchTensor);
    if (p.kind === 'bn.running_var') {
      const key = p.key.replace(/running_var$/, 'num_batches_tracked');
      state.set(key, { dtype: 'int64', shape: [], data: BigInt64Array.of(0n) } satisfies TorchTensor);
    }
  }
  return state;
}

function range(p: EcapaParam): [number, number] {
  switch (p.kind) {
    case 'conv.weight':
    case 'conv.bias': {
      const bound = 1 / Math.sqrt(p.fanIn);
      return [-bound, bound];
    }
    case 'bn.weight':
      return [0.8, 1.2];
    case 'bn.bias':
    case 'bn.running_mean':
      return [-0.1, 0.1];
    case 'bn.running_var':
      return [0.5, 1.5];
  }
}

/** FNV-1a 32-bit: a per-tensor seed, so a tensor's values do not depend on the order tensors are made in. */
function fnv1a(s: string, h = 0x811c9dc5): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
