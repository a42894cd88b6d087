import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isHearthError } from '../../src/errors/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { buildEcapaGraph } from '../../src/runtime/audio/ecapa-graph.js';
import { randomEcapaState } from '../../src/runtime/audio/ecapa-state.js';
import { SpeakerBackend } from '../../src/runtime/audio/speaker-backend.js';
import { OnnxBackend } from '../../src/runtime/onnx/onnx-backend.js';
import { groupEqual } from '../../src/runtime/audio/speaker-model.js';
import { backendConformance } from '../support/backend-conformance.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';
import { TINY_ECAPA, speechBrainHyperparams, writeSpeechBrainRepo } from '../support/speechbrain-fixture.js';
import { tone } from '../support/wav-writer.js';

const newBackend = () => new SpeakerBackend({ logger: silentLogger, maxRows: 16 });

backendConformance('speechbrain (ECAPA-TDNN on ONNX Runtime)', async () => {
  const repo = await mkdtemp(join(tmpdir(), 'hearth-sb-'));
  await writeSpeechBrainRepo(repo, { shape: TINY_ECAPA, seed: 3 });
  const box = await createSandbox();
  const embedding = await box.store().resolve(repo);
  return {
    backend: newBackend(),
    embedding,
    input: 'audio',
    weightsDigest: embedding.files.find((f) => f.path === 'embedding_model.ckpt')!.digest,
    cleanup: async () => {
      await box.cleanup();
      await rm(repo, { recursive: true, force: true });
    },
  };
});

describe('SpeechBrain repos hearth cannot build are refused, naming why', () => {
  let box: Sandbox;
  let repo: string;
  before(async () => {
    box = await createSandbox();
    repo = await mkdtemp(join(tmpdir(), 'hearth-sb-'));
    await writeSpeechBrainRepo(repo, { shape: TINY_ECAPA, seed: 4 });
  });
  after(async () => {
    await box.cleanup();
    await rm(repo, { recursive: true, force: true });
  });

  test('a checkpoint of another shape than its recipe: MODEL_UNSUPPORTED naming the tensor', async () => {
    await writeFile(join(repo, 'hyperparams.yaml'), speechBrainHyperparams({ ...TINY_ECAPA, channels: [128, 128, 128, 128, 384] }, 10));
    const model = await box.store().resolve(repo);
    await assert.rejects(newBackend().load(model, { threads: 1, parallel: 1 }), (e: unknown) => isHearthError(e, 'MODEL_UNSUPPORTED') && /blocks\.0/.test(e.message));
  });

  test('a module hearth cannot build: MODEL_UNSUPPORTED naming its class, before any checkpoint is read', async () => {
    await writeFile(join(repo, 'hyperparams.yaml'), speechBrainHyperparams(TINY_ECAPA, 10).replace('speechbrain.lobes.models.ECAPA_TDNN.ECAPA_TDNN', 'speechbrain.lobes.models.Xvector.Xvector'));
    const model = await box.store().resolve(repo);
    await assert.rejects(newBackend().inspect(model), (e: unknown) => isHearthError(e, 'MODEL_UNSUPPORTED') && /Xvector/.test(e.message));
  });
});

describe('a ready-made ONNX speaker export with hearth-speaker.json', () => {
  let box: Sandbox;
  let repo: string;
  let exported: string;
  const sidecar = { format: 'hearth-speaker', version: 1, architecture: 'ecapa-tdnn', features: { type: 'speechbrain-fbank', sample_rate: 16000, n_mels: 80, sentence_norm: true }, inputs: { features: 'feats', lengths: 'lengths' }, output: 'embedding' };
  before(async () => {
    box = await createSandbox();
    repo = await mkdtemp(join(tmpdir(), 'hearth-sb-'));
    exported = await mkdtemp(join(tmpdir(), 'hearth-export-'));
    await writeSpeechBrainRepo(repo, { shape: TINY_ECAPA, seed: 6 });
    await writeFile(join(exported, 'model.onnx'), buildEcapaGraph(randomEcapaState(TINY_ECAPA, 6), TINY_ECAPA, 'export'));
  });
  after(async () => {
    await box.cleanup();
    await rm(repo, { recursive: true, force: true });
    await rm(exported, { recursive: true, force: true });
  });

  test('serves the same embeddings as the SpeechBrain repo it was exported from; the ONNX text backend leaves it alone', async () => {
    await writeFile(join(exported, 'hearth-speaker.json'), JSON.stringify(sidecar));
    const model = await box.store().resolve(exported);
    assert.deepEqual(model.files.map((f) => f.path).sort(), ['hearth-speaker.json', 'model.onnx']);
    assert.equal(new OnnxBackend({ logger: silentLogger, batch: { maxTokens: 512, maxRows: 32 } }).accepts(model), false);
    const backend = newBackend();
    assert.ok(backend.accepts(model));
    assert.deepEqual((await backend.inspect(model)).capabilities, ['speaker-embedding']);
    const clip = { sampleRate: 16000, channels: [tone(1.3, 16000)] };
    const fromExport = await backend.load(model, { threads: 1, parallel: 1 });
    const fromRepo = await backend.load(await box.store().resolve(repo), { threads: 1, parallel: 1 });
    try {
      const [a] = await fromExport.embedAudio!([clip]);
      const [b] = await fromRepo.embedAudio!([clip]);
      assert.deepEqual(Array.from(a!), Array.from(b!));
      assert.equal(fromExport.speaker!.dims, TINY_ECAPA.linNeurons);
      await assert.rejects(fromExport.embedAudio!([clip], { normalize: true }), (e: unknown) => isHearthError(e, 'MODEL_UNSUPPORTED'));
    } finally {
      await fromExport.dispose();
      await fromRepo.dispose();
    }
  });

  test('a sidecar hearth would have to guess from is refused: another front end, or an input the graph lacks', async () => {
    await writeFile(join(exported, 'hearth-speaker.json'), JSON.stringify({ ...sidecar, features: { ...sidecar.features, type: 'kaldi-fbank' } }));
    await assert.rejects(newBackend().inspect(await box.store().resolve(exported)), (e: unknown) => isHearthError(e, 'MODEL_UNSUPPORTED') && /features\.type/.test(e.message));
    await writeFile(join(exported, 'hearth-speaker.json'), JSON.stringify({ ...sidecar, inputs: { features: 'mel' } }));
    await assert.rejects(newBackend().load(await box.store().resolve(exported), { threads: 1, parallel: 1 }), (e: unknown) => isHearthError(e, 'MODEL_LOAD_FAILED') && /no input mel/.test(e.message));
  });
});

describe('speaker batches', () => {
  test('only clips of equal length share a batch, oldest first, at most maxRows each', () => {
    assert.deepEqual(groupEqual([300, 200, 300, 300, 200, 100], 2), [[0, 2], [1, 4], [3], [5]]);
    assert.deepEqual(groupEqual([], 4), []);
  });
});
