import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { isHearthError } from '../../src/errors/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { readEncoderConfig } from '../../src/runtime/onnx/encoder-config.js';
import { OnnxBackend } from '../../src/runtime/onnx/onnx-backend.js';
import { TextTokenizer } from '../../src/runtime/onnx/text-tokenizer.js';
import type { BatchStats, LoadedModel } from '../../src/runtime/types.js';
import { l2norm } from '../../src/runtime/vector.js';
import { cosine } from '../support/assertions.js';
import type { ResolvedModel } from '../../src/store/index.js';
import { backendConformance } from '../support/backend-conformance.js';
import { writeBertOnnxFixture, type BertOnnxOptions } from '../support/bert-onnx-fixture.js';
import { createModelFixtures } from '../support/model-fixtures.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';

const newBackend = () => new OnnxBackend({ logger: silentLogger, batch: { maxTokens: 512, maxRows: 32 } });

backendConformance('onnxruntime (ONNX)', async () => {
  const fixtures = await createModelFixtures();
  const box = await createSandbox();
  return {
    backend: newBackend(),
    embedding: await box.store().resolve(fixtures.onnxBert),
    cleanup: async () => {
      await box.cleanup();
      await fixtures.cleanup();
    },
  };
});

const TEXTS = [
  'hello',
  'the quick brown fox jumps over the lazy dog',
  'a b c',
  'once upon a time there was a little girl who loved to play in the park with her friends every day',
  'hearth keeps models warm',
];

/** Token states straight from ONNX Runtime, for checking pooling against the graph itself. */
async function rawStates(modelFile: string, ids: number[]): Promise<{ data: Float32Array; hidden: number }> {
  const session = await ort.InferenceSession.create(modelFile);
  const tensor = (values: number[]) => new ort.Tensor('int64', BigInt64Array.from(values, BigInt), [1, values.length]);
  const feeds: Record<string, ort.Tensor> = { input_ids: tensor(ids), attention_mask: tensor(ids.map(() => 1)) };
  if (session.inputNames.includes('token_type_ids')) feeds.token_type_ids = tensor(ids.map(() => 0));
  const out = (await session.run(feeds)).last_hidden_state!;
  await session.release();
  return { data: out.data as Float32Array, hidden: out.dims[2]! };
}

describe('onnx backend', () => {
  let box: Sandbox;
  let root: string;
  const loaded: LoadedModel[] = [];
  const backend = newBackend();

  before(async () => {
    box = await createSandbox();
    root = await mkdtemp(join(tmpdir(), 'hearth-onnx-'));
  });
  after(async () => {
    await Promise.all(loaded.map((m) => m.dispose()));
    await backend.dispose();
    await box.cleanup();
    await rm(root, { recursive: true, force: true });
  });

  let n = 0;
  async function fixture(options: BertOnnxOptions = {}): Promise<{ resolved: ResolvedModel; modelFile: string }> {
    const dir = join(root, `m${n++}`);
    const written = await writeBertOnnxFixture(dir, { seed: 7, ...options });
    return { resolved: await box.store().resolve(dir), modelFile: written.modelFile };
  }
  async function load(resolved: ResolvedModel, threads = 1, parallel = 1, onBatch?: (batch: BatchStats) => void): Promise<LoadedModel> {
    const model = await backend.load(resolved, { threads, parallel, onBatch });
    loaded.push(model);
    return model;
  }

  for (const pooling of ['mean', 'cls', 'lasttoken'] as const) {
    test(`${pooling} pooling and normalization come from the sentence-transformers files and match the graph's own states`, async () => {
      const { resolved, modelFile } = await fixture({ pooling, normalize: false });
      const model = await load(resolved);
      assert.equal(model.identity.pooling, pooling === 'lasttoken' ? 'last' : pooling);
      assert.equal(model.identity.normalize, false);
      const { vectors, tokens } = await model.embed([TEXTS[1]!]);
      assert.ok(Math.abs(l2norm(vectors[0]!) - 1) > 1e-3, 'not normalized: 2_Normalize is absent from modules.json');
      // Recompute from the raw states with the tokenizer's ids ([CLS] … [SEP]).
      const ids = await idsOf(resolved, TEXTS[1]!);
      assert.equal(ids.length, tokens[0]);
      const { data, hidden } = await rawStates(modelFile, ids);
      const row = (t: number) => data.subarray(t * hidden, (t + 1) * hidden);
      const expected = new Float32Array(hidden);
      if (pooling === 'cls') expected.set(row(0));
      else if (pooling === 'lasttoken') expected.set(row(ids.length - 1));
      else for (let t = 0; t < ids.length; t++) row(t).forEach((v, h) => (expected[h]! += v / ids.length));
      assert.ok(cosine(vectors[0]!, expected) >= 0.99999);
      assert.ok(Math.abs(l2norm(vectors[0]!) - l2norm(expected)) < 1e-3 * l2norm(expected));
    });
  }

  test('mixed lengths from concurrent callers, batched, match single runs in order', async () => {
    const { resolved } = await fixture();
    const batches: BatchStats[] = [];
    const model = await load(resolved, 1, 2, (batch) => batches.push(batch));
    const singles: Float32Array[] = [];
    for (const text of TEXTS) singles.push((await model.embed([text])).vectors[0]!);
    assert.deepEqual(new Set(batches.map((b) => b.rows)), new Set([1]), 'one caller at a time runs alone, without waiting for company');
    batches.length = 0;
    const calls = Array.from({ length: 40 }, (_, i) => [TEXTS[i % TEXTS.length]!, TEXTS[(i * 3 + 1) % TEXTS.length]!]);
    const results = await Promise.all(calls.map((texts) => model.embed(texts)));
    assert.equal(batches.reduce((n, b) => n + b.rows, 0), 80, 'every sequence ran once');
    assert.ok(batches.length < 40, `concurrent callers shared batches (80 sequences in ${batches.length} batches)`);
    const padding = batches.reduce((n, b) => n + b.paddedTokens - b.tokens, 0);
    assert.ok(padding < 0.25 * batches.reduce((n, b) => n + b.tokens, 0), `batches sorted by length pad little (${padding} padding tokens)`);
    results.forEach((result, i) =>
      result.vectors.forEach((vector, j) => {
        const expected = singles[TEXTS.indexOf(calls[i]![j]!)]!;
        assert.ok(cosine(vector, expected) >= 0.99999, `call ${i} input ${j}`);
      }),
    );
  });

  test('the length limit counts special tokens; truncation keeps them and reaches the limit exactly', async () => {
    const { resolved } = await fixture({ maxPositions: 64, maxSeqLength: 16 });
    const model = await load(resolved);
    assert.equal(model.identity.contextSize, 16);
    const long = 'the cat sat on the mat and the dog sat on the log and the bird sat on the tree';
    await assert.rejects(model.embed([long]), (e: unknown) => isHearthError(e, 'INPUT_TOO_LONG') && e.details.limit === 16);
    const cut = await model.embed([long], { truncate: true });
    assert.equal(cut.tokens[0], 16);
    const ids = await idsOf(resolved, long, true);
    assert.equal(ids[0], 101);
    assert.equal(ids.at(-1), 102, '[SEP] survives truncation');
  });

  test('token-array input is the text tokens: it embeds like the text', async () => {
    const { resolved } = await fixture();
    const model = await load(resolved);
    const ids = await idsOf(resolved, TEXTS[1]!);
    const fromTokens = await model.embed([ids.slice(1, -1)]);
    const fromText = await model.embed([TEXTS[1]!]);
    assert.ok(cosine(fromTokens.vectors[0]!, fromText.vectors[0]!) >= 0.999999);
    await assert.rejects(model.embed([[1, 2, 1_000_000]]), (e: unknown) => isHearthError(e, 'USAGE'));
  });

  test('a graph without token_type_ids serves the same vectors', async () => {
    const withTypes = await load((await fixture({ seed: 11 })).resolved);
    const without = await load((await fixture({ seed: 11, tokenTypeIds: false })).resolved);
    const [a, b] = await Promise.all([withTypes.embed(TEXTS), without.embed(TEXTS)]);
    a.vectors.forEach((v, i) => assert.ok(cosine(v, b.vectors[i]!) >= 0.99999));
  });

  test('a repo without tokenizer.json fails to load with a clear error', async () => {
    const { resolved } = await fixture({ omit: ['tokenizer.json'] });
    await assert.rejects(backend.load(resolved, { threads: 1, parallel: 1 }), (e: unknown) => isHearthError(e, 'MODEL_LOAD_FAILED') && /tokenizer\.json/.test(e.message));
  });

  test('pooling is never guessed: no modules.json, or a module hearth cannot apply, is refused', async () => {
    const bare = await fixture({ sentenceTransformers: false });
    await assert.rejects(backend.inspect(bare.resolved), (e: unknown) => isHearthError(e, 'MODEL_UNSUPPORTED') && /modules\.json/.test(e.message));
    const dense = await fixture();
    const modules = dense.resolved.files.find((f) => f.path === 'modules.json')!;
    await writeFile(modules.localPath, JSON.stringify([
      { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
      { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
      { idx: 2, name: '2', path: '2_Dense', type: 'sentence_transformers.models.Dense' },
    ]));
    await assert.rejects(backend.inspect(dense.resolved), (e: unknown) => isHearthError(e, 'MODEL_UNSUPPORTED') && /Dense/.test(e.message));
  });

  test('an int8 (dynamically quantized) variant loads and stays within cosine 0.99 of fp32', async () => {
    const dir = join(root, 'quantized');
    await writeBertOnnxFixture(dir, { seed: 5, variants: ['quantized'] });
    const fp32 = await backend.load(await box.store().resolve(dir), { threads: 1, parallel: 1 });
    loaded.push(fp32);
    const files = (await box.store().resolve(dir)).files;
    const q8file = { path: 'onnx/model_quantized.onnx', localPath: join(dir, 'onnx/model_quantized.onnx'), digest: undefined, size: 1 };
    const q8 = await load({ ref: `${dir}:q8`, kind: 'local', files: [...files.filter((f) => !f.path.endsWith('.onnx')), q8file], primary: q8file });
    assert.equal(q8.info.quantization, 'q8');
    const [a, b] = await Promise.all([fp32.embed(TEXTS), q8.embed(TEXTS)]);
    a.vectors.forEach((v, i) => assert.ok(cosine(v, b.vectors[i]!) >= 0.99, `text ${i}: ${cosine(v, b.vectors[i]!)}`));
  });

  test('a request aborted before or while queued fails with ABORTED and leaves the model serving', async () => {
    const { resolved } = await fixture();
    const model = await load(resolved);
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(model.embed(TEXTS, { signal: controller.signal }), (e: unknown) => isHearthError(e, 'ABORTED'));
    // Queued, not yet dispatched (dispatch waits one event-loop turn): the abort reaches it in the queue.
    const queued = new AbortController();
    const pending = model.embed(TEXTS, { signal: queued.signal });
    queued.abort();
    await assert.rejects(pending, (e: unknown) => isHearthError(e, 'ABORTED'));
    assert.equal((await model.embed(TEXTS)).vectors.length, TEXTS.length);
  });
});

/** The ids the model evaluates for a text: the repo's tokenizer, as the backend loads it. */
async function idsOf(resolved: ResolvedModel, text: string, truncate = false): Promise<number[]> {
  const config = await readEncoderConfig(resolved);
  const tokenizer = await TextTokenizer.load(config.tokenizer, config.tokenizerConfig, resolved.ref);
  return tokenizer.encode(text, 0, { maxTokens: config.maxTokens, truncate });
}
