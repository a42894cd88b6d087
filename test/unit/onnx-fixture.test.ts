import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { Tokenizer } from '@huggingface/tokenizers';
import { cosine } from '../support/assertions.js';
import { MINILM_L6_SHAPE, writeBertOnnxFixture, type BertOnnxFixture, type BertOnnxOptions } from '../support/bert-onnx-fixture.js';
import { BASE_VOCAB_SIZE } from '../support/wordpiece-tokenizer.js';

let root: string;
let tiny: BertOnnxFixture;
let session: ort.InferenceSession;
let tokenizer: Tokenizer;
const sessions: ort.InferenceSession[] = [];
let fixtureCount = 0;

const FOX = 'The quick brown fox jumps over the lazy dog.';
const SENTENCES = [FOX, 'hearth keeps models warm', 'In 2024, 3.14% of the people said: "hello, world!"'];

async function fixture(options: BertOnnxOptions = {}): Promise<BertOnnxFixture> {
  return writeBertOnnxFixture(join(root, `fixture-${fixtureCount++}`), options);
}

async function open(path: string): Promise<ort.InferenceSession> {
  const s = await ort.InferenceSession.create(path, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  sessions.push(s);
  return s;
}

const readJson = async (dir: string, path: string): Promise<unknown> => JSON.parse(await readFile(join(dir, path), 'utf8'));
const sha256 = async (path: string): Promise<string> => createHash('sha256').update(await readFile(path)).digest('hex');
const encode = (text: string): number[] => tokenizer.encode(text).ids;

interface Batch {
  hidden: Float32Array;
  dims: readonly number[];
  masks: number[][];
}

/** Runs token-id rows right-padded with [PAD]=0 (mask 0) to the longest row. */
async function run(s: ort.InferenceSession, rows: number[][], withTokenTypes = true): Promise<Batch> {
  const b = rows.length;
  const n = Math.max(...rows.map((r) => r.length));
  const ids = new BigInt64Array(b * n);
  const mask = new BigInt64Array(b * n);
  const masks = rows.map((row, i) => {
    row.forEach((id, j) => {
      ids[i * n + j] = BigInt(id);
      mask[i * n + j] = 1n;
    });
    return Array.from({ length: n }, (_, j) => (j < row.length ? 1 : 0));
  });
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', ids, [b, n]),
    attention_mask: new ort.Tensor('int64', mask, [b, n]),
  };
  if (withTokenTypes) feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(b * n), [b, n]);
  const out = (await s.run(feeds)).last_hidden_state!;
  return { hidden: out.data as Float32Array, dims: out.dims, masks };
}

function pool(batch: Batch, row: number, mode: 'mean' | 'cls' | 'lasttoken'): number[] {
  const [, n, h] = batch.dims as [number, number, number];
  const mask = batch.masks[row]!;
  const at = (t: number): Float32Array => batch.hidden.subarray((row * n + t) * h, (row * n + t + 1) * h);
  if (mode === 'cls') return Array.from(at(0));
  if (mode === 'lasttoken') return Array.from(at(mask.lastIndexOf(1)));
  const sum = new Array<number>(h).fill(0);
  let count = 0;
  mask.forEach((m, t) => {
    if (m === 0) return;
    count++;
    at(t).forEach((v, k) => (sum[k]! += v));
  });
  return sum.map((v) => v / count);
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'hearth-onnx-'));
  tiny = await fixture();
  session = await open(tiny.modelFile);
  tokenizer = new Tokenizer(await readJson(tiny.dir, 'tokenizer.json') as object, await readJson(tiny.dir, 'tokenizer_config.json') as object);
});

after(async () => {
  await Promise.all(sessions.map((s) => s.release()));
  await rm(root, { recursive: true, force: true });
});

describe('bert onnx fixture: graph', () => {
  test('loads in onnxruntime-node with the BERT export names and gives finite [b, s, hidden] output', async () => {
    assert.deepEqual(session.inputNames, ['input_ids', 'attention_mask', 'token_type_ids']);
    assert.deepEqual(session.outputNames, ['last_hidden_state']);
    assert.deepEqual(tiny.inputNames, session.inputNames);
    const shapes = [...session.inputMetadata, ...session.outputMetadata].map((m) => (m.isTensor ? [m.type, m.shape] : m.name));
    assert.deepEqual(shapes, [
      ...Array.from({ length: 3 }, () => ['int64', ['batch_size', 'sequence_length']]),
      ['float32', ['batch_size', 'sequence_length', tiny.hidden]],
    ]);
    const rows = SENTENCES.map(encode);
    const out = await run(session, rows);
    assert.deepEqual(out.dims, [3, Math.max(...rows.map((r) => r.length)), tiny.hidden]);
    assert.ok(out.hidden.every(Number.isFinite));
  });

  test('masking: a right-padded batch pools like unpadded single runs (mean, cls, last token)', async () => {
    const rows = SENTENCES.map(encode);
    assert.equal(new Set(rows.map((r) => r.length)).size, 3, 'the sentences need different lengths');
    const batch = await run(session, rows);
    for (const [i, row] of rows.entries()) {
      const single = await run(session, [row]);
      for (const mode of ['mean', 'cls', 'lasttoken'] as const) {
        const c = cosine(pool(single, 0, mode), pool(batch, i, mode));
        assert.ok(c >= 0.99999, `sentence ${i} ${mode}: cosine ${c}`);
      }
    }
  });

  test('a fully padded row stays finite and leaves the other rows alone', async () => {
    const rows = [encode(FOX), []];
    const batch = await run(session, rows);
    assert.ok(batch.hidden.every(Number.isFinite));
    const single = await run(session, [rows[0]!]);
    assert.ok(cosine(pool(single, 0, 'mean'), pool(batch, 0, 'mean')) >= 0.99999);
  });

  test('unrelated texts get clearly different vectors', async () => {
    const batch = await run(session, SENTENCES.map(encode));
    for (const mode of ['mean', 'cls'] as const) {
      for (let i = 0; i < 3; i++) {
        for (let j = i + 1; j < 3; j++) {
          const c = cosine(pool(batch, i, mode), pool(batch, j, mode));
          assert.ok(c < 0.95, `${mode} ${i}/${j}: cosine ${c}`);
        }
      }
    }
  });

  test('tokenTypeIds: false gives a graph with only input_ids and attention_mask', async () => {
    const fx = await fixture({ tokenTypeIds: false });
    const s = await open(fx.modelFile);
    assert.deepEqual(s.inputNames, ['input_ids', 'attention_mask']);
    assert.deepEqual(fx.inputNames, s.inputNames);
    const out = await run(s, [encode(FOX)], false);
    assert.ok(out.hidden.every(Number.isFinite));
    // token_type_ids of all zeros is what the graph assumes, so it matches the 3-input graph of the same seed.
    const same = await run(session, [encode(FOX)]);
    assert.ok(cosine(pool(out, 0, 'mean'), pool(same, 0, 'mean')) >= 0.99999);
  });

  test('the quantized variant is a real int8 graph within cosine 0.99 of fp32', async () => {
    const fx = await fixture({ variants: ['quantized', 'fp16'] });
    const fp32 = await readFile(fx.modelFile);
    const fp16 = await readFile(join(fx.dir, 'onnx/model_fp16.onnx'));
    const q8 = await readFile(join(fx.dir, 'onnx/model_quantized.onnx'));
    assert.ok(fp16.equals(fp32), 'non-int8 variants copy the fp32 graph');
    assert.ok(q8.length < fp32.length / 2, `quantized is ${q8.length} bytes, fp32 ${fp32.length}`);
    assert.ok(q8.includes('MatMulInteger') && q8.includes('DynamicQuantizeLinear'));
    const s = await open(join(fx.dir, 'onnx/model_quantized.onnx'));
    const rows = SENTENCES.map(encode);
    const [a, b] = [await run(session, rows), await run(s, rows)];
    for (let i = 0; i < rows.length; i++) {
      const c = cosine(pool(a, i, 'mean'), pool(b, i, 'mean'));
      assert.ok(c >= 0.99, `sentence ${i}: cosine ${c}`);
    }
  });
});

describe('bert onnx fixture: tokenizer', () => {
  test('tokenizer.json encodes a plain sentence as [CLS] ... [SEP] without [UNK]', () => {
    const ids = encode(FOX);
    assert.equal(ids[0], 101);
    assert.equal(ids.at(-1), 102);
    assert.ok(!ids.includes(100), `ids ${ids.join(' ')}`);
    assert.deepEqual(tokenizer.encode('hearth keeps models warm').tokens, ['[CLS]', 'hearth', 'keeps', 'models', 'warm', '[SEP]']);
    for (const s of SENTENCES) assert.ok(!encode(s).includes(100), s);
  });

  test('vocab.txt, tokenizer.json and the special ids agree with bert-base-uncased', async () => {
    const lines = (await readFile(join(tiny.dir, 'vocab.txt'), 'utf8')).split('\n').slice(0, -1);
    assert.equal(lines.length, tiny.vocabSize);
    assert.equal(tiny.vocabSize, BASE_VOCAB_SIZE);
    lines.forEach((token, id) => assert.equal(tokenizer.token_to_id(token), id));
    assert.deepEqual(
      ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map((t) => lines.indexOf(t)),
      [0, 100, 101, 102, 103],
    );
    const json = (await readJson(tiny.dir, 'tokenizer.json')) as { truncation: { max_length: number }; padding: { strategy: string } };
    assert.equal(json.truncation.max_length, tiny.maxSeqLength);
    assert.equal(json.padding.strategy, 'BatchLongest');
  });

  test('vocabSize below the base set throws; a larger one is filled with word pieces', async () => {
    await assert.rejects(fixture({ vocabSize: BASE_VOCAB_SIZE - 1 }), /vocabSize must be an integer >= \d+/);
    const fx = await fixture({ vocabSize: 2000 });
    const config = (await readJson(fx.dir, 'config.json')) as { vocab_size: number };
    assert.equal(config.vocab_size, 2000);
    const lines = (await readFile(join(fx.dir, 'vocab.txt'), 'utf8')).split('\n').slice(0, -1);
    assert.equal(new Set(lines).size, 2000);
    const s = await open(fx.modelFile);
    const out = await run(s, [[101, 1999, 102]]);
    assert.ok(out.hidden.every(Number.isFinite));
  });
});

describe('bert onnx fixture: repo files', () => {
  test('the same options write byte-identical files; another seed changes only the weights', async () => {
    const [a, b, c] = [await fixture({ seed: 7 }), await fixture({ seed: 7 }), await fixture({ seed: 8 })];
    assert.deepEqual(a.files, b.files);
    for (const f of a.files) assert.equal(await sha256(join(a.dir, f)), await sha256(join(b.dir, f)), f);
    assert.equal(a.sha256, await sha256(a.modelFile));
    assert.notEqual(c.sha256, a.sha256);
    assert.equal(await sha256(join(c.dir, 'tokenizer.json')), await sha256(join(a.dir, 'tokenizer.json')));
  });

  test('writes the hub layout with sentence-transformers files for mean pooling and normalize', async () => {
    assert.deepEqual(tiny.files, [
      '1_Pooling/config.json',
      'config.json',
      'config_sentence_transformers.json',
      'modules.json',
      'onnx/model.onnx',
      'sentence_bert_config.json',
      'special_tokens_map.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'vocab.txt',
    ]);
    assert.equal(tiny.modelFile, join(tiny.dir, 'onnx/model.onnx'));
    const modules = (await readJson(tiny.dir, 'modules.json')) as Array<{ path: string; type: string }>;
    assert.deepEqual(modules.map((m) => m.path), ['', '1_Pooling', '2_Normalize']);
    assert.equal(modules[2]!.type, 'sentence_transformers.models.Normalize');
    await assert.rejects(stat(join(tiny.dir, '2_Normalize')), { code: 'ENOENT' });
    const pooling = (await readJson(tiny.dir, '1_Pooling/config.json')) as Record<string, unknown>;
    assert.equal(pooling.word_embedding_dimension, tiny.hidden);
    assert.equal(pooling.pooling_mode_mean_tokens, true);
    assert.equal(pooling.pooling_mode_cls_token, false);
    assert.deepEqual(await readJson(tiny.dir, 'sentence_bert_config.json'), { max_seq_length: 128, do_lower_case: false });
    const config = (await readJson(tiny.dir, 'config.json')) as Record<string, unknown>;
    assert.equal(config.model_type, 'bert');
    assert.equal(config.hidden_size, tiny.hidden);
    assert.equal(config.max_position_embeddings, tiny.maxPositions);
    const tokenizerConfig = (await readJson(tiny.dir, 'tokenizer_config.json')) as Record<string, unknown>;
    assert.equal(tokenizerConfig.model_max_length, tiny.maxPositions);
  });

  test('pooling, normalize and maxSeqLength options reach the sentence-transformers files', async () => {
    const fx = await fixture({ pooling: 'cls', normalize: false, maxSeqLength: 64 });
    assert.equal(fx.pooling, 'cls');
    assert.equal(fx.normalize, false);
    const modules = (await readJson(fx.dir, 'modules.json')) as Array<{ path: string }>;
    assert.deepEqual(modules.map((m) => m.path), ['', '1_Pooling']);
    const pooling = (await readJson(fx.dir, '1_Pooling/config.json')) as Record<string, unknown>;
    assert.equal(pooling.pooling_mode_cls_token, true);
    assert.equal(pooling.pooling_mode_mean_tokens, false);
    assert.equal(((await readJson(fx.dir, 'sentence_bert_config.json')) as { max_seq_length: number }).max_seq_length, 64);
    const last = await fixture({ pooling: 'lasttoken' });
    assert.equal(((await readJson(last.dir, '1_Pooling/config.json')) as Record<string, unknown>).pooling_mode_lasttoken, true);
  });

  test('sentenceTransformers: false, omit, modelPath and variants change what is written', async () => {
    const plain = await fixture({ sentenceTransformers: false, omit: ['vocab.txt'], modelPath: 'model.onnx', variants: ['int8', 'O2'] });
    assert.deepEqual(plain.files, [
      'config.json',
      'model.onnx',
      'onnx/model_O2.onnx',
      'onnx/model_int8.onnx',
      'special_tokens_map.json',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);
    assert.equal(plain.modelFile, join(plain.dir, 'model.onnx'));
    const noTokenizer = await fixture({ omit: ['tokenizer.json', '1_Pooling/config.json'] });
    await assert.rejects(stat(join(noTokenizer.dir, 'tokenizer.json')), { code: 'ENOENT' });
    assert.ok(!noTokenizer.files.includes('1_Pooling/config.json'));
    await assert.rejects(fixture({ omit: ['tokenizer.jsn'] }), /omit: tokenizer\.jsn is not a file this fixture writes/);
    await assert.rejects(fixture({ modelPath: '../model.onnx' }), /must be a relative path/);
  });

  test('MINILM_L6_SHAPE describes all-MiniLM-L6-v2 (written only by benchmarks)', () => {
    assert.deepEqual(MINILM_L6_SHAPE, { layers: 6, hidden: 384, heads: 12, intermediate: 1536, vocabSize: 30522, maxPositions: 512, maxSeqLength: 256 });
  });
});
