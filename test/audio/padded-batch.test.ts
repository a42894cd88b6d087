import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { readTorchCheckpoint } from '../../src/formats/torch/index.js';
import { buildEcapaGraph } from '../../src/runtime/audio/ecapa-graph.js';
import { fbank, sentenceNormalize, validFrameCount } from '../../src/runtime/audio/fbank.js';
import { REFERENCE_ECAPA } from '../support/speechbrain-fixture.js';
import { ECAPA_DIR, ECAPA_SKIP, ECAPA_TOLERANCE, ecapaClips, ecapaManifest, maxAbsDiff, referenceF32 } from '../support/ecapa-reference.js';


/**
 * hearth never pads a batch (it batches clips of equal length), but the
 * graph keeps SpeechBrain's masks, so SpeechBrain's own padded batch is the
 * sharpest check of them: zero-padded waves, the 80 dB floor over the whole
 * padded row, the sentence mean over t < rel·T − 1e-6, and the SE and
 * pooling masks over t < rel·T must give `encode_batch(padded, wav_lens)`.
 */
test("SpeechBrain's padded batch, reproduced from the waves: every row within the embedding tolerance", { skip: ECAPA_SKIP }, async () => {
  const manifest = ecapaManifest();
  const clips = ecapaClips();
  const maxSamples = manifest.batch.max_samples;
  const wavLens = referenceF32('batch.wav_lens.f32');
  const rows = clips.map((clip, i) => {
    const padded = new Float32Array(maxSamples);
    padded.set(referenceF32(`${clip.name}.f32`));
    const { frames, bins, data } = fbank(padded);
    return { frames, data: sentenceNormalize(data, frames, bins, validFrameCount(wavLens[i]!, frames)) };
  });
  const frames = rows[0]!.frames;
  const feats = new Float32Array(rows.length * frames * 80);
  rows.forEach((row, i) => feats.set(row.data, i * frames * 80));
  const graph = buildEcapaGraph(await readTorchCheckpoint(join(ECAPA_DIR!, 'embedding_model.ckpt')), REFERENCE_ECAPA, 'reference');
  const session = await ort.InferenceSession.create(graph, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  try {
    const out = await session.run({ feats: new ort.Tensor('float32', feats, [rows.length, frames, 80]), lengths: new ort.Tensor('float32', wavLens, [rows.length]) });
    const got = out.embedding!.data as Float32Array;
    const expected = referenceF32('batch.emb.f32');
    for (const [i, clip] of clips.entries()) {
      const diff = maxAbsDiff(got.subarray(i * 192, (i + 1) * 192), expected.subarray(i * 192, (i + 1) * 192));
      assert.ok(diff <= ECAPA_TOLERANCE.embedding, `${clip.name}: max |diff| ${diff}`);
    }
    // And padding is why hearth does not pad: a clip that ends mid-speech moves away from its own single-clip embedding.
    const single = referenceF32('a2_engb_f.emb.f32');
    assert.ok(maxAbsDiff(expected.subarray(192, 384), single) > 100 * ECAPA_TOLERANCE.embedding);
  } finally {
    await session.release();
  }
});
