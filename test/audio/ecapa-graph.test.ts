import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { ELEM, GraphBuilder, int } from '../../src/formats/onnx/onnx-writer.js';
import { readTorchCheckpoint, isTorchTensor, type StateDict } from '../../src/formats/torch/index.js';
import { isHearthError } from '../../src/errors/index.js';
import { buildEcapaGraph, ecapaMinFrames, type EcapaShape } from '../../src/runtime/audio/ecapa-graph.js';
import { EcapaEmitter } from '../../src/runtime/audio/ecapa-blocks.js';
import { ecapaParameters, randomEcapaState } from '../../src/runtime/audio/ecapa-state.js';
import { REFERENCE_ECAPA } from '../support/speechbrain-fixture.js';
import { ECAPA_DIR, ECAPA_SKIP, ECAPA_TOLERANCE, ecapaClips, maxAbsDiff, referenceF32 } from '../support/ecapa-reference.js';

const WHAT = 'test-ecapa';

const session = (bytes: Uint8Array): Promise<ort.InferenceSession> =>
  ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });

async function embed(s: ort.InferenceSession, feats: Float32Array, batch: number, lengths: Float32Array): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const frames = feats.length / (batch * 80);
  const out = await s.run({ feats: new ort.Tensor('float32', feats, [batch, frames, 80]), lengths: new ort.Tensor('float32', lengths, [batch]) });
  return { data: out.embedding!.data as Float32Array, dims: out.embedding!.dims };
}

function randomFeats(count: number, seed: number, scale = 3): Float32Array {
  let a = seed >>> 0;
  return Float32Array.from({ length: count }, () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return (a / 4294967296 - 0.5) * 2 * scale;
  });
}

const cosine = (a: Float32Array, b: Float32Array): number => {
  let ab = 0, aa = 0, bb = 0; // prettier-ignore
  for (let i = 0; i < a.length; i++) [ab, aa, bb] = [ab + a[i]! * b[i]!, aa + a[i]! * a[i]!, bb + b[i]! * b[i]!];
  return ab / Math.sqrt(aa * bb);
};

/**
 * How many frames past a row's length still reach its valid outputs through reflect-padded convolutions: block 0
 * and the MFA once, each SE-Res2Net block through up to scale−1 chained dilated convs. Beyond that only the masks see
 * the padding, and they ignore it.
 */
function convReach(shape: EcapaShape): number {
  const half = (i: number): number => (shape.dilations[i]! * (shape.kernelSizes[i]! - 1)) / 2;
  let reach = half(0) + half(shape.channels.length - 1);
  for (let i = 1; i < shape.channels.length - 1; i++) reach += (shape.res2netScale - 1) * half(i);
  return reach;
}

test('randomEcapaState has exactly the parameters the graph reads, and builds a runnable deterministic graph', async () => {
  const state = randomEcapaState(REFERENCE_ECAPA, 1);
  const params = ecapaParameters(REFERENCE_ECAPA);
  const bnCount = params.filter((p) => p.kind === 'bn.running_var').length;
  assert.equal(state.size, params.length + bnCount); // + one num_batches_tracked per BatchNorm, as torch saves
  const bytes = buildEcapaGraph(state, REFERENCE_ECAPA, WHAT);
  assert.deepEqual(buildEcapaGraph(randomEcapaState(REFERENCE_ECAPA, 1), REFERENCE_ECAPA, WHAT), bytes);
  assert.notDeepEqual(buildEcapaGraph(randomEcapaState(REFERENCE_ECAPA, 2), REFERENCE_ECAPA, WHAT), bytes);

  const s = await session(bytes);
  const { data, dims } = await embed(s, randomFeats(2 * 300 * 80, 7), 2, Float32Array.of(1, 0.5));
  assert.deepEqual(dims, [2, 192]);
  assert.ok(data.every(Number.isFinite));
  assert.ok(maxAbsDiff(data.subarray(0, 192), data.subarray(192)) > 1e-3, 'rows with different lengths differ');
  await s.release();
});

test('a missing or misshapen tensor is MODEL_UNSUPPORTED naming the key', () => {
  const missing = randomEcapaState(REFERENCE_ECAPA, 1);
  missing.delete('blocks.2.res2net_block.blocks.6.norm.norm.running_var');
  assert.throws(
    () => buildEcapaGraph(missing, REFERENCE_ECAPA, WHAT),
    (e) => isHearthError(e, 'MODEL_UNSUPPORTED') && /^test-ecapa: .*blocks\.2\.res2net_block\.blocks\.6\.norm\.norm\.running_var/.test(e.message) && e.details.key === 'blocks.2.res2net_block.blocks.6.norm.norm.running_var',
  );
  const wrong = randomEcapaState(REFERENCE_ECAPA, 1);
  wrong.set('fc.conv.weight', { dtype: 'float32', shape: [192, 1536], data: new Float32Array(192 * 1536) });
  assert.throws(
    () => buildEcapaGraph(wrong, REFERENCE_ECAPA, WHAT),
    (e) => isHearthError(e, 'MODEL_UNSUPPORTED') && e.message.includes('fc.conv.weight') && /\[192, 1536, 1\]/.test(e.message),
  );
  // A checkpoint for other sizes fails on its first layer, not deep inside ONNX Runtime.
  assert.throws(
    () => buildEcapaGraph(randomEcapaState(REFERENCE_ECAPA, 1), { ...REFERENCE_ECAPA, channels: [512, 512, 512, 512, 1536] }, WHAT),
    (e) => isHearthError(e, 'MODEL_UNSUPPORTED') && e.message.includes('blocks.0.conv.conv.weight'),
  );
  assert.throws(() => buildEcapaGraph(randomEcapaState(REFERENCE_ECAPA, 1), { ...REFERENCE_ECAPA, kernelSizes: [4, 3, 3, 3, 1] }, WHAT), (e) => isHearthError(e, 'MODEL_UNSUPPORTED') && /odd/.test(e.message));
});

test('channel changes between blocks get the shortcut conv SpeechBrain adds; global_context false drops the stats', async () => {
  const shape: EcapaShape = { ...REFERENCE_ECAPA, channels: [64, 32, 48, 40, 120], attentionChannels: 16, seChannels: 8, linNeurons: 24, res2netScale: 4, globalContext: false };
  const state = randomEcapaState(shape, 3);
  for (const i of [1, 2, 3]) assert.ok(state.has(`blocks.${i}.shortcut.conv.weight`), `blocks.${i}`);
  assert.deepEqual((state.get('asp.tdnn.conv.conv.weight') as { shape: number[] }).shape, [16, 120, 1]);
  const s = await session(buildEcapaGraph(state, shape, WHAT));
  const { data, dims } = await embed(s, randomFeats(2 * 50 * 80, 5), 2, Float32Array.of(1, 0.6));
  assert.deepEqual(dims, [2, 24]);
  assert.ok(data.every(Number.isFinite));
  await s.release();
  // ECAPA_TDNN sizes the MFA as channels[-2]·3 = 144, but 32+32+48 arrive: PyTorch could not run it either.
  const bad: EcapaShape = { ...shape, channels: [64, 32, 32, 48, 96] };
  assert.throws(() => buildEcapaGraph(randomEcapaState(bad, 3), bad, WHAT), (e) => isHearthError(e, 'MODEL_UNSUPPORTED') && /MFA expects 144/.test(e.message));
});

test('the frame mask is length_to_mask(lengths * T, max_len=T) in float32: t < fround(rel·T)', async () => {
  const g = new GraphBuilder();
  const feats = g.input('feats', ELEM.FLOAT, ['batch', 'frames', 80]);
  const lengths = g.input('lengths', ELEM.FLOAT, ['batch']);
  const mask = new EcapaEmitter(g, new Map(), WHAT).lengthMask(feats, lengths);
  g.op('Cast', [mask.valid], { to: int(ELEM.FLOAT) }, 'valid');
  g.output('valid', ELEM.FLOAT, ['batch', 1, 'frames']);
  const s = await session(g.encode({ graphName: 'mask' }));
  // Relative lengths from a real padded batch (samples/max) and values whose product with T rounds across an integer.
  const rel = Float32Array.of(0.5172868371009827, 0.6861661076545715, 0.48875749111175537, 1, 0.28149110078811646, 0.3, 0.7, 1 / 3, 0.1, 1e-3);
  for (const frames of [10, 569, 1000]) {
    const out = await s.run({ feats: new ort.Tensor('float32', new Float32Array(rel.length * frames * 80), [rel.length, frames, 80]), lengths: new ort.Tensor('float32', rel, [rel.length]) });
    const valid = out.valid!.data as Float32Array;
    rel.forEach((r, b) => {
      const bound = Math.fround(r * frames); // rel is already float32; the product is rounded to float32 as torch does
      for (let t = 0; t < frames; t++) assert.equal(valid[b * frames + t], t < bound ? 1 : 0, `row ${b} (rel ${r}) frame ${t} of ${frames}`);
    });
  }
  await s.release();
});

test('padding beyond the convolutions’ reach is ignored; within it, it leaks in as in SpeechBrain', async () => {
  const s = await session(buildEcapaGraph(randomEcapaState(REFERENCE_ECAPA, 1), REFERENCE_ECAPA, WHAT));
  const reach = convReach(REFERENCE_ECAPA);
  assert.equal(reach, 65);
  assert.equal(ecapaMinFrames(REFERENCE_ECAPA), 5);
  // Shorter, reflect padding has nothing to mirror: ONNX Runtime refuses, as torch's F.pad does (callers check first).
  const quiet = await ort.InferenceSession.create(buildEcapaGraph(randomEcapaState(REFERENCE_ECAPA, 1), REFERENCE_ECAPA, WHAT), { intraOpNumThreads: 1, logSeverityLevel: 4 });
  await assert.rejects(embed(quiet, randomFeats(4 * 80, 3), 1, Float32Array.of(1)), /Pad/);
  assert.ok((await embed(quiet, randomFeats(5 * 80, 3), 1, Float32Array.of(1))).data.every(Number.isFinite));
  await quiet.release();
  const length = 200;
  const frames = length + reach + 40;
  const clip = randomFeats(length * 80, 11);
  const padded = (garbageFrom: number): Float32Array => {
    const x = new Float32Array(frames * 80);
    x.set(clip);
    x.set(randomFeats((frames - garbageFrom) * 80, 99, 10), garbageFrom * 80);
    return x;
  };
  const rel = Float32Array.of(length / frames);
  const zeros = (await embed(s, padded(frames), 1, rel)).data;
  const far = (await embed(s, padded(length + reach), 1, rel)).data;
  const near = (await embed(s, padded(length), 1, rel)).data;
  const unmasked = (await embed(s, padded(frames), 1, Float32Array.of(1))).data;
  const alone = (await embed(s, clip, 1, Float32Array.of(1))).data;
  assert.ok(zeros.every(Number.isFinite) && near.every(Number.isFinite));
  // Observed bitwise equal: each conv output column is computed on its own, and masked frames weigh exactly 0.
  assert.ok(maxAbsDiff(far, zeros) <= 1e-7, `garbage from frame length+reach on changes nothing (${maxAbsDiff(far, zeros)})`);
  // Right after the length it does (observed 7e-3 here); a single frame deep inside the reach moves it only ~1e-8.
  assert.ok(maxAbsDiff(near, zeros) > 1e-4, `garbage right after the length leaks in (${maxAbsDiff(near, zeros)})`);
  // Masked, a padded row stays near its unpadded embedding (only the boundary frames see padding); unmasked, it does not.
  assert.ok(maxAbsDiff(zeros, alone) < maxAbsDiff(unmasked, alone) / 10, `${maxAbsDiff(zeros, alone)} vs unmasked ${maxAbsDiff(unmasked, alone)}`);
  await s.release();
});

test('the reference checkpoint through ONNX Runtime matches SpeechBrain per clip', { skip: ECAPA_SKIP }, async (t) => {
  const state: StateDict = await readTorchCheckpoint(join(ECAPA_DIR!, 'embedding_model.ckpt'));
  // The derived key set is exactly torch's module tree: every saved tensor is a parameter we read or a BN counter.
  const expected = new Set(ecapaParameters(REFERENCE_ECAPA).map((p) => p.key));
  for (const [key, value] of state) {
    assert.ok(expected.has(key) || (key.endsWith('.num_batches_tracked') && isTorchTensor(value) && value.dtype === 'int64'), `unexpected key ${key}`);
  }
  const s = await session(buildEcapaGraph(state, REFERENCE_ECAPA, WHAT));
  const clips = ecapaClips();
  const feats = clips.map((c) => referenceF32(`${c.name}.norm.f32`));
  for (const [i, c] of clips.entries()) {
    const { data, dims } = await embed(s, feats[i]!, 1, Float32Array.of(1));
    assert.deepEqual(dims, [1, 192]);
    const ref = referenceF32(`${c.name}.emb.f32`);
    const diff = maxAbsDiff(data, ref);
    t.diagnostic(`${c.name} (${c.frames} frames): max |diff| ${diff.toExponential(2)}`);
    assert.ok(diff <= ECAPA_TOLERANCE.embedding, `${c.name}: max |diff| ${diff}`);
    assert.ok(cosine(data, ref) >= 0.9999999999, c.name);
  }

  // The clips' own features zero-padded into one batch, lengths = frames/maxFrames. Not SpeechBrain's batch (its
  // padding changes the Fbank floor and the sentence mean; the front end's test compares batch.emb.f32): this checks
  // that rows are independent and masked. Observed: the unpadded row matches its single run to ~1e-6; the padded rows
  // differ from theirs by 1e-2..3e-2 (values up to 4.2) through the convolutions at their ends, garbage padding
  // instead of zeros moves them by under 1e-2 more, and without the masks (lengths 1) by about 1.
  const maxFrames = Math.max(...clips.map((c) => c.frames));
  const batch = new Float32Array(clips.length * maxFrames * 80);
  feats.forEach((f, b) => batch.set(f, b * maxFrames * 80));
  const lengths = Float32Array.from(clips, (c) => c.frames / maxFrames);
  const { data, dims } = await embed(s, batch, clips.length, lengths);
  assert.deepEqual(dims, [clips.length, 192]);
  assert.ok(data.every(Number.isFinite));
  for (const [b, c] of clips.entries()) {
    const row = data.subarray(b * 192, (b + 1) * 192);
    const diff = maxAbsDiff(row, referenceF32(`${c.name}.emb.f32`));
    t.diagnostic(`batched ${c.name} (length ${lengths[b]!.toFixed(4)}): max |diff| from single ${diff.toExponential(2)}`);
    if (c.frames === maxFrames) assert.ok(diff <= ECAPA_TOLERANCE.embedding, `${c.name}: unpadded row ${diff}`);
    else assert.ok(diff < 0.1, `${c.name}: padded row ${diff}`);
  }
  await s.release();
});
