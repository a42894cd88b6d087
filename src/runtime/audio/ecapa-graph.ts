/**
 * SpeechBrain's ECAPA-TDNN speaker-embedding network (`speechbrain.lobes.models.ECAPA_TDNN.ECAPA_TDNN`, SpeechBrain
 * 1.0.4) as an in-memory ONNX graph built from the checkpoint's state dict, so hearth runs it on onnxruntime without
 * Python or an exported .onnx file.
 *
 * Contract: `feats` float32 [batch, frames, inputSize] (features already sentence-normalized), `lengths` float32
 * [batch] (relative lengths in (0, 1], SpeechBrain's wav_lens) → `embedding` float32 [batch, linNeurons]. SpeechBrain
 * returns [batch, 1, linNeurons]; the singleton axis is dropped here. Padded frames still feed the reflect-padded
 * convolutions, exactly as in SpeechBrain; only the SE means and attentive pooling are masked.
 */
import { ELEM, GraphBuilder, int, ints } from '../../formats/onnx/onnx-writer.js';
import type { EcapaShape } from '../../formats/speechbrain/index.js';
import type { StateDict } from '../../formats/torch/types.js';
import { HearthError } from '../../errors/index.js';
import { EcapaEmitter } from './ecapa-blocks.js';
import { checkEcapaState } from './ecapa-state.js';

export type { EcapaShape };

/** ECAPA_TDNN's constructor defaults with the spkrec-ecapa-voxceleb sizes (its hyperparams.yaml overrides channels). */
export const ECAPA_VOXCELEB_SHAPE: EcapaShape = {
  inputSize: 80,
  channels: [1024, 1024, 1024, 1024, 3072],
  kernelSizes: [5, 3, 3, 3, 1],
  dilations: [1, 2, 3, 4, 1],
  attentionChannels: 128,
  res2netScale: 8,
  seChannels: 128,
  linNeurons: 192,
  globalContext: true,
};

/**
 * The fewest frames the graph accepts: reflect padding (like torch's F.pad reflect) needs more frames than it pads,
 * i.e. frames > dilation·(kernel−1)/2 for every dilated convolution.
 */
export function ecapaMinFrames(shape: EcapaShape): number {
  let widest = 0;
  shape.kernelSizes.forEach((k, i) => (widest = Math.max(widest, ((shape.dilations[i] ?? 1) * (k - 1)) >> 1)));
  return widest + 1;
}

export function checkEcapaShape(shape: EcapaShape, what: string): void {
  const fail = (message: string): never => {
    throw new HearthError('MODEL_UNSUPPORTED', `${what}: ECAPA-TDNN ${message}`, { details: { shape } });
  };
  const positive = (name: string, v: number): void => {
    if (!Number.isSafeInteger(v) || v < 1) fail(`${name} must be a positive integer, got ${v}`);
  };
  const { channels, kernelSizes, dilations } = shape;
  // ECAPA_TDNN asserts equal lengths; fewer than 3 leaves the MFA layer with no input.
  if (channels.length < 3) fail(`needs at least 3 channel entries, got ${channels.length}`);
  if (kernelSizes.length !== channels.length || dilations.length !== channels.length) {
    fail(`channels, kernel_sizes and dilations differ in length (${channels.length}, ${kernelSizes.length}, ${dilations.length})`);
  }
  for (const [name, v] of Object.entries({ inputSize: shape.inputSize, attentionChannels: shape.attentionChannels, res2netScale: shape.res2netScale, seChannels: shape.seChannels, linNeurons: shape.linNeurons })) positive(name, v);
  channels.forEach((c, i) => positive(`channels[${i}]`, c));
  dilations.forEach((d, i) => positive(`dilations[${i}]`, d));
  // Conv1d(padding="same") rejects even kernels; with an odd one the reflect padding is symmetric.
  kernelSizes.forEach((k, i) => {
    positive(`kernel_sizes[${i}]`, k);
    if (k % 2 === 0) fail(`kernel_sizes[${i}] must be odd, got ${k}`);
  });
  let mfaIn = 0;
  for (let i = 1; i < channels.length - 1; i++) {
    if (channels[i]! % shape.res2netScale !== 0) fail(`channels[${i}] (${channels[i]}) must be divisible by res2net_scale (${shape.res2netScale})`);
    mfaIn += channels[i]!;
  }
  // ECAPA_TDNN sizes the MFA input as channels[-2]·(layers−2) but feeds it the SE blocks' outputs concatenated.
  const declared = channels[channels.length - 2]! * (channels.length - 2);
  if (mfaIn !== declared) fail(`MFA expects ${declared} input channels but the SE-Res2Net blocks give ${mfaIn}`);
}

/** Builds the ONNX model (opset 17) for `state`, a `torch.save(embedding_model.state_dict())` mapping. */
export function buildEcapaGraph(state: StateDict, shape: EcapaShape, what: string): Uint8Array {
  checkEcapaShape(shape, what);
  checkEcapaState(state, shape, what);
  const { channels, kernelSizes, dilations } = shape;
  const n = channels.length;
  const g = new GraphBuilder();
  const e = new EcapaEmitter(g, state, what);

  const feats = g.input('feats', ELEM.FLOAT, ['batch', 'frames', shape.inputSize]);
  const lengths = g.input('lengths', ELEM.FLOAT, ['batch']);
  const mask = e.lengthMask(feats, lengths);

  g.scope = 'blocks.0';
  let x = g.op('Transpose', [feats], { perm: ints([0, 2, 1]) });
  x = e.tdnn(x, 'blocks.0', shape.inputSize, channels[0]!, kernelSizes[0]!, dilations[0]!);
  const outs: string[] = [];
  for (let i = 1; i < n - 1; i++) {
    g.scope = `blocks.${i}`;
    x = e.seRes2Net(x, `blocks.${i}`, mask, { in: channels[i - 1]!, out: channels[i]!, kernel: kernelSizes[i]!, dilation: dilations[i]!, scale: shape.res2netScale, se: shape.seChannels });
    outs.push(x);
  }

  g.scope = 'mfa';
  x = outs.length === 1 ? outs[0]! : g.op('Concat', outs, { axis: int(1) });
  x = e.tdnn(x, 'mfa', channels[n - 2]! * (n - 2), channels[n - 1]!, kernelSizes[n - 1]!, dilations[n - 1]!);

  g.scope = 'asp';
  x = e.attentivePooling(x, 'asp', mask, channels[n - 1]!, shape.attentionChannels, shape.globalContext);
  g.scope = 'head';
  x = e.batchNorm(x, 'asp_bn', 2 * channels[n - 1]!);
  x = e.conv1d(x, 'fc', 2 * channels[n - 1]!, shape.linNeurons, 1, 1);
  // [batch, lin, 1] → [batch, lin]: the same values SpeechBrain's transpose(1, 2) then squeeze give.
  g.op('Flatten', [x], { axis: int(1) }, 'embedding');
  g.output('embedding', ELEM.FLOAT, ['batch', shape.linNeurons]);
  return g.encode({ graphName: 'ecapa_tdnn', producerName: 'hearth', docString: 'speechbrain.lobes.models.ECAPA_TDNN.ECAPA_TDNN (SpeechBrain 1.0.4)' });
}
