/**
 * ONNX emitters for ECAPA-TDNN's building blocks, each following SpeechBrain 1.0.4's forward() op for op so float32
 * results stay within rounding of PyTorch's. Activations are [batch, channels, time] as in SpeechBrain's
 * skip_transpose modules. Weights become initializers named by their state-dict key.
 */
import { ELEM, type GraphBuilder, floatTensor, int, ints, str } from '../../formats/onnx/onnx-writer.js';
import { isTorchTensor, type StateDict } from '../../formats/torch/types.js';
import { HearthError } from '../../errors/index.js';

/** The mask of valid frames, made once and shared: SpeechBrain rebuilds the same one in every SE block and in pooling. */
export interface FrameMask {
  /** bool [batch, 1, time]: t < lengths·T. */
  valid: string;
  /** float32 [batch, 1, time], 1 where valid. */
  ones: string;
  /** float32 [batch, 1, 1]: the number of valid frames. */
  total: string;
}

export interface SeRes2NetSizes {
  in: number;
  out: number;
  kernel: number;
  dilation: number;
  scale: number;
  se: number;
}

const BN_EPS = 1e-5; // torch.nn.BatchNorm1d's default, which SpeechBrain's BatchNorm1d keeps
const STD_EPS = 1e-12; // AttentiveStatisticsPooling.eps

export class EcapaEmitter {
  constructor(
    private readonly g: GraphBuilder,
    private readonly state: StateDict,
    private readonly what: string,
  ) {}

  /** length_to_mask(lengths * T, max_len=T): float32 arange compared with float32 lengths·T, as SpeechBrain does. */
  lengthMask(feats: string, lengths: string): FrameMask {
    const g = this.g;
    g.scope = 'mask';
    const frames = g.op('Cast', [g.op('Shape', [feats], { start: int(1), end: int(2) })], { to: int(ELEM.FLOAT) });
    const limit = g.op('Reshape', [frames, g.int64s([])]);
    const arange = g.op('Range', [g.floatScalar(0), limit, g.floatScalar(1)]);
    const bound = g.op('Unsqueeze', [g.op('Mul', [lengths, frames]), g.int64s([1])]);
    const valid = g.op('Unsqueeze', [g.op('Less', [arange, bound]), g.int64s([1])]);
    const ones = g.op('Cast', [valid], { to: int(ELEM.FLOAT) });
    const total = g.op('ReduceSum', [ones, g.int64s([2])], { keepdims: int(1) });
    return { valid, ones, total };
  }

  /** SpeechBrain Conv1d (padding "same", padding_mode "reflect", stride 1) at `prefix`; torch's conv is `prefix.conv`. */
  conv1d(x: string, prefix: string, inC: number, outC: number, kernel: number, dilation: number): string {
    const g = this.g;
    const w = this.param(`${prefix}.conv.weight`, [outC, inC, kernel]);
    const b = this.param(`${prefix}.conv.bias`, [outC]);
    // get_padding_elem for stride 1: floor((L_in − L_out)/2) each side with L_out = L_in − dilation·(kernel−1).
    const pad = Math.floor((dilation * (kernel - 1)) / 2);
    const padded = pad === 0 ? x : g.op('Pad', [x, g.int64s([0, 0, pad, 0, 0, pad])], { mode: str('reflect') });
    return g.op('Conv', [padded, w, b], { dilations: ints([dilation]), kernel_shape: ints([kernel]) });
  }

  /** SpeechBrain BatchNorm1d in eval mode at `prefix` (torch's is `prefix.norm`): x·scale + shift from running stats. */
  batchNorm(x: string, prefix: string, channels: number): string {
    const key = (name: string): string => `${prefix}.norm.${name}`;
    const weight = this.param(key('weight'), [channels], false);
    const bias = this.param(key('bias'), [channels], false);
    const mean = this.param(key('running_mean'), [channels], false);
    const variance = this.param(key('running_var'), [channels], false);
    const scale = new Float32Array(channels);
    const shift = new Float32Array(channels);
    // Folded like ATen's CPU inference kernel (alpha = weight/√(var+eps), beta = bias − mean·alpha), in float32 steps.
    for (let c = 0; c < channels; c++) {
      const alpha = Math.fround(weight[c]! * Math.fround(1 / Math.fround(Math.sqrt(Math.fround(variance[c]! + BN_EPS)))));
      scale[c] = alpha;
      shift[c] = Math.fround(bias[c]! - Math.fround(mean[c]! * alpha));
    }
    const g = this.g;
    const s = g.initializer(floatTensor(key('scale'), [channels, 1], scale));
    const t = g.initializer(floatTensor(key('shift'), [channels, 1], shift));
    return g.op('Add', [g.op('Mul', [x, s]), t]);
  }

  /** TDNNBlock: conv → ReLU → BatchNorm. The ReLU sits between, so the BatchNorm cannot fold into the conv. */
  tdnn(x: string, prefix: string, inC: number, outC: number, kernel: number, dilation: number): string {
    const y = this.g.op('Relu', [this.conv1d(x, `${prefix}.conv`, inC, outC, kernel, dilation)]);
    return this.batchNorm(y, `${prefix}.norm`, outC);
  }

  /** Res2NetBlock: chunk 0 passes through, chunk 1 goes through blocks[0], chunk i≥2 through blocks[i−1] after adding y_{i−1}. */
  res2net(x: string, prefix: string, channels: number, scale: number, kernel: number, dilation: number): string {
    if (scale === 1) return x;
    const g = this.g;
    const width = channels / scale;
    const chunks = g.opN('Split', [x, g.int64s(Array.from({ length: scale }, () => width))], scale, { axis: int(1) });
    const ys: string[] = [chunks[0]!];
    let y = '';
    for (let i = 1; i < scale; i++) {
      const input = i === 1 ? chunks[1]! : g.op('Add', [chunks[i]!, y]);
      y = this.tdnn(input, `${prefix}.blocks.${i - 1}`, width, width, kernel, dilation);
      ys.push(y);
    }
    return g.op('Concat', ys, { axis: int(1) });
  }

  /** SEBlock: masked time mean → conv1 → ReLU → conv2 → sigmoid, scaling x per channel. */
  se(x: string, prefix: string, mask: FrameMask, channels: number, seChannels: number): string {
    const g = this.g;
    const sum = g.op('ReduceSum', [g.op('Mul', [x, mask.ones]), g.int64s([2])], { keepdims: int(1) });
    let s = g.op('Div', [sum, mask.total]);
    s = g.op('Relu', [this.conv1d(s, `${prefix}.conv1`, channels, seChannels, 1, 1)]);
    s = g.op('Sigmoid', [this.conv1d(s, `${prefix}.conv2`, seChannels, channels, 1, 1)]);
    return g.op('Mul', [s, x]);
  }

  /** SERes2NetBlock: tdnn1 → Res2Net → tdnn2 → SE, plus the input (through a 1×1 shortcut conv when channels change). */
  seRes2Net(x: string, prefix: string, mask: FrameMask, s: SeRes2NetSizes): string {
    const residual = s.in === s.out ? x : this.conv1d(x, `${prefix}.shortcut`, s.in, s.out, 1, 1);
    let y = this.tdnn(x, `${prefix}.tdnn1`, s.in, s.out, 1, 1);
    y = this.res2net(y, `${prefix}.res2net_block`, s.out, s.scale, s.kernel, s.dilation);
    y = this.tdnn(y, `${prefix}.tdnn2`, s.out, s.out, 1, 1);
    y = this.se(y, `${prefix}.se_block`, mask, s.out, s.se);
    return this.g.op('Add', [y, residual]);
  }

  /** AttentiveStatisticsPooling → [batch, 2·channels, 1] (weighted mean then weighted std). */
  attentivePooling(x: string, prefix: string, mask: FrameMask, channels: number, attention: number, globalContext: boolean): string {
    const g = this.g;
    let attn = x;
    if (globalContext) {
      const weights = g.op('Div', [mask.ones, mask.total]);
      const [mean, std] = this.statistics(x, weights);
      const full = g.op('Shape', [x]);
      attn = g.op('Concat', [x, g.op('Expand', [mean, full]), g.op('Expand', [std, full])], { axis: int(1) });
    }
    attn = this.tdnn(attn, `${prefix}.tdnn`, globalContext ? channels * 3 : channels, attention, 1, 1);
    attn = this.conv1d(g.op('Tanh', [attn]), `${prefix}.conv`, attention, channels, 1, 1);
    attn = g.op('Where', [mask.valid, attn, g.floatScalar(-Infinity)]);
    attn = g.op('Softmax', [attn], { axis: int(2) });
    const [mean, std] = this.statistics(x, attn);
    return g.op('Concat', [mean, std], { axis: int(1) });
  }

  /** _compute_statistics: mean = Σ m·x, std = √(max(Σ m·(x − mean)², eps)), both [batch, channels, 1]. */
  private statistics(x: string, m: string): [string, string] {
    const g = this.g;
    const axes = g.int64s([2]);
    const mean = g.op('ReduceSum', [g.op('Mul', [m, x]), axes], { keepdims: int(1) });
    const d = g.op('Sub', [x, mean]);
    const variance = g.op('ReduceSum', [g.op('Mul', [m, g.op('Mul', [d, d])]), axes], { keepdims: int(1) });
    return [mean, g.op('Sqrt', [g.op('Max', [variance, g.floatScalar(STD_EPS)])])];
  }

  /** The state tensor `key` (already checked by checkEcapaState; checked again so a caller mistake names the key). */
  private tensor(key: string, shape: readonly number[]): Float32Array {
    const value = this.state.get(key);
    if (!isTorchTensor(value) || value.dtype !== 'float32' || value.shape.length !== shape.length || value.shape.some((d, i) => d !== shape[i])) {
      throw new HearthError('MODEL_UNSUPPORTED', `${this.what}: ${key} is missing or not float32 [${shape.join(', ')}]`, { details: { key, expected: shape } });
    }
    return value.data;
  }

  private param(key: string, shape: readonly number[]): string;
  private param(key: string, shape: readonly number[], asInitializer: false): Float32Array;
  private param(key: string, shape: readonly number[], asInitializer = true): string | Float32Array {
    const data = this.tensor(key, shape);
    return asInitializer ? this.g.initializer(floatTensor(key, shape, data)) : data;
  }
}
