import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readHyperPyYaml, speakerRecipe, type EcapaShape } from '../../src/formats/speechbrain/index.js';
import { isTorchTensor, listZipEntries, parseTorchCheckpoint, readTorchCheckpoint, readZipEntry, type StateDict, type TorchTensor } from '../../src/formats/torch/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { SpeakerBackend } from '../../src/runtime/audio/speaker-backend.js';
import { ECAPA_VOXCELEB_SHAPE } from '../../src/runtime/audio/ecapa-graph.js';
import { randomEcapaState } from '../../src/runtime/audio/ecapa-state.js';
import { decodeWav } from '../../src/runtime/audio/wav-decode.js';
import type { ResolvedModel } from '../../src/store/index.js';
import { ECAPA_DIR, ECAPA_SKIP } from '../support/ecapa-reference.js';
import { ecapaModuleVersions, labelEncoderText, speechBrainHyperparams, writeSpeechBrainRepo } from '../support/speechbrain-fixture.js';
import { torchCheckpointBytes, writeTorchCheckpoint, type TorchEntry, type TorchWriteOptions } from '../support/torch-writer.js';
import { pcm16Wav, tone } from '../support/wav-writer.js';

/** A narrow ECAPA, so the repo loads and embeds in a moment. */
const SMALL: EcapaShape = { ...ECAPA_VOXCELEB_SHAPE, channels: [64, 64, 64, 64, 192], attentionChannels: 16, seChannels: 32, linNeurons: 48 };

const floats = (shape: number[], f: (i: number) => number): TorchTensor => ({ dtype: 'float32', shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => f(i)) });
const long = (value: bigint): TorchTensor => ({ dtype: 'int64', shape: [], data: BigInt64Array.of(value) });
const bytesOf = (t: TorchTensor) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);

/** Keys, order, dtypes, shapes and every value bit for bit (so NaN and -0 count too). */
function assertSameState(actual: StateDict, expected: ReadonlyMap<string, unknown>): void {
  assert.deepEqual([...actual.keys()], [...expected.keys()]);
  for (const [key, want] of expected) {
    const got = actual.get(key);
    if (typeof want === 'number') {
      assert.equal(got, want, key);
      continue;
    }
    const w = want as TorchTensor;
    assert.ok(isTorchTensor(got) && isTorchTensor(w), key);
    assert.equal(got.dtype, w.dtype, key);
    assert.deepEqual(got.shape, w.shape, key);
    assert.ok(bytesOf(got).equals(bytesOf(w)), `${key}: values differ`);
  }
}

/** Every value kind the writer encodes differently: ints of every width, floats, scalars, empty and strided tensors. */
function mixedEntries(): Map<string, TorchEntry> {
  return new Map<string, TorchEntry>([
    ['conv.weight', floats([4, 3, 5], (i) => Math.sin(i) * 1e3)],
    ['conv.bias', floats([4], (i) => [Number.NaN, -0, Infinity, 1e-40][i]!)],
    ['scalar', floats([], () => 2.5)],
    ['empty', floats([0, 3], () => 0)],
    ['norm.num_batches_tracked', long(-(2n ** 62n))],
    ['count', 40],
    ['big', 65_536],
    ['int2', 65_535],
    ['negative', -7],
    ['long', 2 ** 40],
    ['negativeLong', -(2 ** 40)],
    ['half', 0.5],
    ['ünïcode key', floats([2, 2], (i) => i)],
  ]);
}

describe('torch.save writer', () => {
  test('round trip through the reader: keys, order, shapes, dtypes and values', () => {
    const entries = mixedEntries();
    for (const options of [{}, { container: 'plain' }, { metadata: new Map([['', 1], ['conv', 1], ['norm', 2]]) }] satisfies TorchWriteOptions[]) {
      assertSameState(parseTorchCheckpoint(torchCheckpointBytes(entries, 'archive', options), 'archive.ckpt'), entries);
    }
  });

  test('more than 1000 items (several SETITEMS batches) and more than 256 memo slots', () => {
    const entries = new Map<string, TorchEntry>(Array.from({ length: 2100 }, (_, i) => [`layer.${i}`, i % 3 === 0 ? i : floats([2], (j) => i + j / 10)]));
    assertSameState(parseTorchCheckpoint(torchCheckpointBytes(entries, 'many'), 'many.ckpt'), entries);
  });

  test('the archive is laid out as torch.save lays it out: stored records under the stem, data 64-byte aligned', () => {
    const bytes = torchCheckpointBytes(mixedEntries(), 'embedding_model');
    const entries = listZipEntries(bytes, 'x');
    const tensors = [...mixedEntries().values()].filter((v) => typeof v !== 'number').length;
    assert.deepEqual(
      entries.map((e) => e.name),
      ['data.pkl', '.format_version', '.storage_alignment', 'byteorder', ...Array.from({ length: tensors }, (_, i) => `data/${i}`), 'version', '.data/serialization_id'].map((n) => `embedding_model/${n}`),
    );
    for (const entry of entries) {
      assert.equal(entry.method, 0, entry.name);
      assert.equal((readZipEntry(bytes, entry, 'x').byteOffset - (bytes as Buffer).byteOffset) % 64, 0, `${entry.name} is not 64-byte aligned`);
    }
    const text = (name: string) => Buffer.from(readZipEntry(bytes, entries.find((e) => e.name === `embedding_model/${name}`)!, 'x')).toString();
    assert.equal(text('version'), '3\n');
    assert.equal(text('byteorder'), 'little');
    assert.match(text('.data/serialization_id'), /^\d{40}$/);
  });

  test('the same input gives the same bytes; other values give other bytes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-torch-writer-'));
    try {
      const state = randomEcapaState(SMALL, 3) as Map<string, TorchEntry>;
      await writeTorchCheckpoint(join(dir, 'a.ckpt'), state, 'embedding_model');
      await writeTorchCheckpoint(join(dir, 'b.ckpt'), randomEcapaState(SMALL, 3) as Map<string, TorchEntry>, 'embedding_model');
      await writeTorchCheckpoint(join(dir, 'c.ckpt'), randomEcapaState(SMALL, 4) as Map<string, TorchEntry>, 'embedding_model');
      const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((n) => readFile(join(dir, `${n}.ckpt`))));
      assert.ok(a!.equals(b!));
      assert.ok(!a!.equals(c!));
      assertSameState(await readTorchCheckpoint(join(dir, 'a.ckpt')), state);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a full-size ECAPA state dict (about 83 MB) round-trips', () => {
    const state = randomEcapaState(ECAPA_VOXCELEB_SHAPE, 1) as Map<string, TorchEntry>;
    const bytes = torchCheckpointBytes(state, 'embedding_model', { metadata: ecapaModuleVersions(ECAPA_VOXCELEB_SHAPE) });
    assert.ok(bytes.length > 83_000_000, `${bytes.length} bytes`);
    assertSameState(parseTorchCheckpoint(bytes, 'embedding_model.ckpt'), state);
  });

  test('refuses a value that is not a whole tensor', () => {
    const short: TorchTensor = { dtype: 'float32', shape: [2, 3], data: new Float32Array(5) };
    assert.throws(() => torchCheckpointBytes(new Map([['w', short]]), 'x'), /holds 5 values/);
  });
});

describe('SpeechBrain repo writer', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hearth-speechbrain-fixture-'));
    await writeSpeechBrainRepo(dir, { shape: SMALL, seed: 5, classes: 7 });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('writes the five files of spkrec-ecapa-voxceleb, with the recipe naming the shape', async () => {
    assert.deepEqual((await readdir(dir)).sort(), ['classifier.ckpt', 'embedding_model.ckpt', 'hyperparams.yaml', 'label_encoder.txt', 'mean_var_norm_emb.ckpt']);
    const recipe = speakerRecipe(readHyperPyYaml(await readFile(join(dir, 'hyperparams.yaml'), 'utf8'), 'x'), 'x');
    assert.deepEqual(recipe.ecapa, SMALL);
    assert.equal(recipe.classes, 7);
    assert.deepEqual(recipe.checkpoints, { embedding_model: 'embedding_model.ckpt', mean_var_norm_emb: 'mean_var_norm_emb.ckpt', classifier: 'classifier.ckpt', label_encoder: 'label_encoder.txt' });
    const norm = await readTorchCheckpoint(join(dir, 'mean_var_norm_emb.ckpt'));
    assert.deepEqual([...norm.keys()], ['count', 'glob_mean', 'glob_std']);
    const classifier = (await readTorchCheckpoint(join(dir, 'classifier.ckpt'))).get('weight');
    assert.ok(isTorchTensor(classifier));
    assert.deepEqual(classifier.shape, [7, SMALL.linNeurons]);
    const labels = await readFile(join(dir, 'label_encoder.txt'), 'utf8');
    assert.equal(labels, `'id10001' => 0\n'id10002' => 1\n'id10003' => 2\n'id10004' => 3\n'id10005' => 4\n'id10006' => 5\n'id10007' => 6\n================\n'starting_index' => 0\n`);
    assertSameState(await readTorchCheckpoint(join(dir, 'embedding_model.ckpt')), randomEcapaState(SMALL, 5));
  });

  test('loads through SpeakerBackend and embeds a tone: finite lin_neurons-d vectors; normalize subtracts glob_mean', async () => {
    const files = await Promise.all((await readdir(dir)).map(async (path) => ({ path, localPath: join(dir, path), digest: undefined, size: (await stat(join(dir, path))).size })));
    const model: ResolvedModel = { ref: dir, kind: 'local', files, primary: files.find((f) => f.path === 'hyperparams.yaml')! };
    const loaded = await new SpeakerBackend({ logger: silentLogger, maxRows: 4 }).load(model, { threads: 1, parallel: 1 });
    try {
      const clip = decodeWav(pcm16Wav([tone(1.5, 16000)], 16000));
      const [plain] = await loaded.embedAudio!([clip]);
      const [normalized] = await loaded.embedAudio!([clip], { normalize: true });
      assert.equal(plain!.length, SMALL.linNeurons);
      assert.ok(plain!.every(Number.isFinite));
      assert.ok(plain!.some((v) => v !== 0));
      const mean = (await readTorchCheckpoint(join(dir, 'mean_var_norm_emb.ckpt'))).get('glob_mean');
      assert.ok(isTorchTensor(mean) && mean.dtype === 'float32');
      plain!.forEach((v, i) => assert.ok(Math.abs(v - mean.data[i]! - normalized![i]!) < 1e-5, `dim ${i}`));
    } finally {
      await loaded.dispose();
    }
  });
});

describe('against the SpeechBrain reference repo', { skip: ECAPA_SKIP }, () => {
  const refShape: EcapaShape = { ...ECAPA_VOXCELEB_SHAPE, channels: [256, 256, 256, 256, 768], attentionChannels: 64 };
  const serializationId = (bytes: Uint8Array) => Buffer.from(readZipEntry(bytes, listZipEntries(bytes, 'x').find((e) => e.name.endsWith('/.data/serialization_id'))!, 'x')).toString();

  // torch 2.13 wrote these; rewritten from what the reader gives, with torch's random id, they come out byte for byte.
  for (const [stem, options] of [
    ['embedding_model', { metadata: ecapaModuleVersions(refShape) }],
    ['mean_var_norm_emb', { container: 'plain' }],
    ['classifier', { metadata: new Map([['', 1], ['blocks', 1]]) }],
  ] as Array<[string, TorchWriteOptions]>) {
    test(`${stem}.ckpt rewritten is torch's file, byte for byte`, () => {
      const original = readFileSync(join(ECAPA_DIR!, `${stem}.ckpt`));
      const state = parseTorchCheckpoint(original, stem);
      const entries = new Map<string, TorchEntry>([...state].map(([k, v]) => [k, v as TorchEntry]));
      const rewritten = torchCheckpointBytes(entries, stem, { ...options, serializationId: serializationId(original) });
      assertSameState(parseTorchCheckpoint(rewritten, stem), entries);
      assert.ok(Buffer.from(rewritten).equals(original), `${rewritten.length} bytes against torch's ${original.length}`);
    });
  }

  test('hyperparams.yaml and label_encoder.txt of the reference shape are the reference files', () => {
    assert.equal(speechBrainHyperparams(refShape, 10), readFileSync(join(ECAPA_DIR!, 'hyperparams.yaml'), 'utf8'));
    assert.equal(labelEncoderText(10), readFileSync(join(ECAPA_DIR!, 'label_encoder.txt'), 'utf8'));
  });

  test("the reference checkpoint's keys are randomEcapaState's, in the same order", () => {
    const state = parseTorchCheckpoint(readFileSync(join(ECAPA_DIR!, 'embedding_model.ckpt')), 'embedding_model');
    assert.deepEqual([...state.keys()], [...randomEcapaState(refShape, 0).keys()]);
  });
});
