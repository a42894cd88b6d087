import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  getLlama,
  LlamaChatSession,
  LlamaCompletion,
  LlamaLogLevel,
  readGgufFileInfo,
  type Llama,
  type LlamaModel,
} from 'node-llama-cpp';
import {
  arr,
  bool,
  f32,
  f64,
  float16BitsToFloat32,
  float32ToFloat16Bits,
  i16,
  i32,
  i64,
  i8,
  str,
  u16,
  u32,
  u64,
  u8,
  writeGguf,
} from '../support/gguf-writer.js';
import { cosine } from '../support/assertions.js';
import { writeBertFixture, writeLlamaFixture } from '../support/gguf-fixtures.js';

let dir: string;
let llama: Llama;
const models: LlamaModel[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hearth-gguf-'));
  llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
});

after(async () => {
  for (const model of models) await model.dispose();
  await llama?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function load(modelPath: string): Promise<LlamaModel> {
  const model = await llama.loadModel({ modelPath });
  models.push(model);
  return model;
}

const num = (v: number | bigint | undefined): number => Number(v);

describe('float16 conversion', () => {
  test('rounds to nearest even and handles the edges', () => {
    const cases: Array<[number, number]> = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.1, 0x2e66],
      [65504, 0x7bff], // max half
      [65519, 0x7bff], // just below the rounding boundary
      [65520, 0x7c00], // rounds up to inf
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // tie between 0 and the smallest subnormal → even (0)
      [1.5 * 2 ** -25, 0x0001],
      [3 * 2 ** -25, 0x0002], // tie between subnormals 1 and 2 → even (2)
      [1 + 2 ** -11, 0x3c00], // tie → even mantissa
      [1 + 3 * 2 ** -11, 0x3c02], // tie → even mantissa (rounds up)
      [2 - 2 ** -12, 0x4000], // mantissa carry bumps the exponent
    ];
    for (const [value, bits] of cases) {
      assert.equal(float32ToFloat16Bits(value), bits, `f16(${value}) = 0x${float32ToFloat16Bits(value).toString(16)}`);
    }
    assert.equal((float32ToFloat16Bits(NaN) & 0x7c00) === 0x7c00 && (float32ToFloat16Bits(NaN) & 0x3ff) !== 0, true);
    // Every finite half survives f16 → f32 → f16.
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) === 0x7c00) continue;
      assert.equal(float32ToFloat16Bits(float16BitsToFloat32(h)), h);
    }
  });
});

describe('writeGguf', () => {
  test('writes every value type, aligned tensor data, and reads back through node-llama-cpp', async () => {
    const path = join(dir, 'raw.gguf');
    const data = Float32Array.from({ length: 15 }, (_, i) => i / 4);
    await writeGguf(
      path,
      [
        ['general.architecture', str('llama')],
        ['general.alignment', u32(32)],
        ['test.u8', u8(255)],
        ['test.i8', i8(-128)],
        ['test.u16', u16(65535)],
        ['test.i16', i16(-32768)],
        ['test.u32', u32(4294967295)],
        ['test.i32', i32(-5)],
        ['test.f32', f32(0.5)],
        ['test.f64', f64(1 / 3)],
        ['test.u64', u64(2n ** 63n)],
        ['test.i64', i64(-7)],
        ['test.bool', bool(true)],
        ['test.str', str('héllo ▁')],
        ['test.arr_str', arr('str', ['a', 'bc'])],
        ['test.arr_f32', arr('f32', [1.5, -2])],
        ['test.arr_i32', arr('i32', [1, -1])],
      ],
      [
        { name: 'a', shape: [3, 5], type: 'F32', data },
        { name: 'b', shape: [15], type: 'F16', data },
        { name: 'c', shape: [1], type: 'F32', data: new Float32Array([42]) },
      ],
    );

    const bytes = await readFile(path);
    assert.equal(bytes.toString('latin1', 0, 4), 'GGUF');
    assert.equal(bytes.readUInt32LE(4), 3);
    assert.equal(bytes.readBigUInt64LE(8), 3n); // tensor count
    assert.equal(bytes.readBigUInt64LE(16), 17n); // kv count
    assert.equal(bytes.length % 32, 0);

    const info = await readGgufFileInfo(path, { logWarnings: false });
    const md = info.metadata as unknown as Record<string, Record<string, unknown>>;
    assert.deepEqual(
      { ...md['test'] },
      {
        u8: 255,
        i8: -128,
        u16: 65535,
        i16: -32768,
        u32: 4294967295,
        i32: -5,
        f32: 0.5,
        f64: 1 / 3,
        u64: 2n ** 63n,
        i64: -7n,
        bool: true,
        str: 'héllo ▁',
        arr_str: ['a', 'bc'],
        arr_f32: [1.5, -2],
        arr_i32: [1, -1],
      },
    );

    const tensors = info.tensorInfo ?? [];
    assert.deepEqual(
      tensors.map((t) => [t.name, t.dimensions.map(num), t.ggmlType, num(t.offset)]),
      [
        ['a', [3, 5], 0, 0],
        ['b', [15], 1, 64], // 60 bytes of F32 → next aligned offset 64
        ['c', [1], 0, 96], // 30 bytes of F16 → 94 → 96
      ],
    );
    const start = num(tensors[0]?.fileOffset);
    assert.equal(start % 32, 0);
    assert.equal(bytes.readFloatLE(start + 4 * 7), 7 / 4);
    assert.equal(float16BitsToFloat32(bytes.readUInt16LE(start + 64 + 2 * 7)), 7 / 4);
    assert.equal(bytes.readFloatLE(start + 96), 42);
    assert.ok(bytes.subarray(start + 60, start + 64).every((b) => b === 0), 'padding is zeros');
  });

  test('rejects inconsistent input', async () => {
    const path = join(dir, 'bad.gguf');
    const t = { name: 't', shape: [2, 2], type: 'F32' as const, data: new Float32Array(3) };
    await assert.rejects(writeGguf(path, [], [t]), /needs 4 values/);
    await assert.rejects(writeGguf(path, [['k', u32(1)], ['k', u32(2)]], []), /given twice/);
    await assert.rejects(writeGguf(path, [['k', u8(256)]], []), /not an integer in/);
    await assert.rejects(writeGguf(path, [['general.alignment', u32(24)]], []), /power of two/);
  });
});

describe('fixtures are deterministic', () => {
  test('same options → identical bytes; a different seed → a different file', async () => {
    const a = await writeLlamaFixture(join(dir, 'det-a.gguf'));
    const b = await writeLlamaFixture(join(dir, 'det-b.gguf'));
    const c = await writeLlamaFixture(join(dir, 'det-c.gguf'), { seed: 2 });
    assert.equal(a.sha256, b.sha256);
    assert.equal(a.bytes, b.bytes);
    assert.ok((await readFile(a.path)).equals(await readFile(b.path)));
    assert.notEqual(a.sha256, c.sha256);
    assert.equal(a.bytes, c.bytes);

    const x = await writeBertFixture(join(dir, 'det-x.gguf'), { type: 'F16' });
    const y = await writeBertFixture(join(dir, 'det-y.gguf'), { type: 'F16' });
    const z = await writeBertFixture(join(dir, 'det-z.gguf'), { type: 'F16', seed: 7 });
    assert.equal(x.sha256, y.sha256);
    assert.notEqual(x.sha256, z.sha256);
  });
});

describe('llama fixture', () => {
  let fixture: Awaited<ReturnType<typeof writeLlamaFixture>>;
  let model: LlamaModel;

  before(async () => {
    fixture = await writeLlamaFixture(join(dir, 'llama.gguf'), { name: 'tiny-llama' });
    model = await load(fixture.path);
  });

  test('readGgufFileInfo reads back metadata and tensor infos', async () => {
    const info = await readGgufFileInfo(fixture.path, { logWarnings: false });
    assert.equal(info.version, 3);
    assert.equal(info.metadata.general.architecture, 'llama');
    assert.equal(info.metadata.general.name, 'tiny-llama');
    assert.equal(info.metadata.general.alignment, 32);
    assert.equal(info.architectureMetadata.block_count, 2);
    assert.equal(info.architectureMetadata.embedding_length, 64);
    assert.equal(info.architectureMetadata.attention?.head_count_kv, 2);
    assert.equal(info.metadata.tokenizer.ggml.model, 'llama');
    assert.equal(info.metadata.tokenizer.ggml.tokens.length, fixture.vocabSize);
    assert.match(String(info.metadata.tokenizer.chat_template), /<\|im_start\|>/);

    const tensors = new Map((info.tensorInfo ?? []).map((t) => [t.name, t]));
    assert.equal(tensors.size, 3 + 2 * 9);
    assert.deepEqual(tensors.get('token_embd.weight')?.dimensions.map(num), [64, fixture.vocabSize]);
    assert.deepEqual(tensors.get('blk.1.attn_k.weight')?.dimensions.map(num), [64, 32]); // kvDim = 64/4*2
    assert.deepEqual(tensors.get('blk.0.ffn_down.weight')?.dimensions.map(num), [128, 64]);
    for (const t of tensors.values()) assert.equal(num(t.offset) % 32, 0, `${t.name} offset aligned`);
  });

  test('loads, and tokenize/detokenize round-trip', () => {
    assert.equal(model.fileInfo.metadata.general.architecture, 'llama');
    assert.ok(model.size > 0);
    assert.deepEqual(model.getWarnings(), []);
    const text = 'the cat sat on the mat';
    const tokens = model.tokenize(text);
    assert.equal(tokens.length, 6, 'each word is a single vocab piece');
    assert.equal(model.detokenize(tokens), text);
    // Anything else falls back to byte tokens and still round-trips.
    const odd = 'Zebra-42 says «héllo» 🙂\n\ttabs';
    assert.equal(model.detokenize(model.tokenize(odd)), odd);
    assert.equal(model.tokens.bos, 1);
    assert.equal(model.tokens.eos, 2);
  });

  test('LlamaCompletion generates tokens', async () => {
    const context = await model.createContext({ contextSize: 256, threads: 1 });
    try {
      const completion = new LlamaCompletion({ contextSequence: context.getSequence() });
      let generated = 0;
      const text = await completion.generateCompletion('once upon a time', {
        maxTokens: 8,
        onToken: (tokens) => {
          generated += tokens.length;
        },
      });
      assert.ok(generated >= 5, `generated ${generated} tokens`);
      assert.ok(text.length > 0);
    } finally {
      await context.dispose();
    }
  });

  test('LlamaChatSession replies using the embedded ChatML template', async () => {
    const context = await model.createContext({ contextSize: 256, threads: 1 });
    try {
      const session = new LlamaChatSession({ contextSequence: context.getSequence() });
      assert.ok(['ChatML', 'JinjaTemplate'].includes(session.chatWrapper.wrapperName), session.chatWrapper.wrapperName);
      const reply = await session.prompt('hello there', { maxTokens: 5 });
      assert.ok(reply.trim().length > 0, `reply: ${JSON.stringify(reply)}`);
    } finally {
      await context.dispose();
    }
  });
});

describe('bert fixture', () => {
  test('embeddings have length embd, are finite, non-zero, deterministic and text-dependent', async () => {
    const fixture = await writeBertFixture(join(dir, 'bert.gguf'));
    const info = await readGgufFileInfo(fixture.path, { logWarnings: false });
    assert.equal(info.metadata.general.architecture, 'bert');
    assert.equal(info.architectureMetadata.block_count, 2);
    assert.equal(info.metadata.tokenizer.ggml.tokens.length, fixture.vocabSize);

    const model = await load(fixture.path);
    assert.deepEqual(model.getWarnings(), []);
    // Known words are single pieces, unknown ones split into pieces and continuations; nothing maps to [UNK] (id 1).
    assert.equal(model.tokenize('the cat sat on the mat').length, 6);
    const tokens = model.tokenize('the zyxt sat, quickly! 42');
    assert.ok(tokens.length > 6 && !tokens.some((t) => Number(t) === 1), `tokens ${tokens.join(' ')}`);
    assert.equal(model.detokenize(model.tokenize('the cat sat on the mat')), 'the cat sat on the mat');

    const context = await model.createEmbeddingContext({ contextSize: 128, threads: 1 });
    try {
      const a = (await context.getEmbeddingFor('the cat sat on the mat')).vector;
      const a2 = (await context.getEmbeddingFor('the cat sat on the mat')).vector;
      const b = (await context.getEmbeddingFor('a quick brown fox jumps')).vector;
      assert.equal(a.length, 64);
      assert.ok(a.every(Number.isFinite));
      assert.ok(a.some((v) => v !== 0));
      assert.deepEqual(a2, a);
      assert.notDeepEqual(b, a);
    } finally {
      await context.dispose();
    }
  });

  test('F16 weights give (nearly) the F32 embedding; cls pooling is honoured', async () => {
    const text = 'once upon a time';
    const embed = async (path: string) => {
      const model = await load(path);
      const context = await model.createEmbeddingContext({ contextSize: 128, threads: 1 });
      try {
        return [...(await context.getEmbeddingFor(text)).vector];
      } finally {
        await context.dispose();
      }
    };
    const f32Vec = await embed((await writeBertFixture(join(dir, 'bert-f32.gguf'), { seed: 3 })).path);
    const f16Vec = await embed((await writeBertFixture(join(dir, 'bert-f16.gguf'), { seed: 3, type: 'F16' })).path);
    const clsFixture = await writeBertFixture(join(dir, 'bert-cls.gguf'), { seed: 3, pooling: 'cls' });
    const clsVec = await embed(clsFixture.path);
    assert.ok(cosine(f32Vec, f16Vec) > 0.999, `cosine ${cosine(f32Vec, f16Vec)}`);
    assert.ok(cosine(f32Vec, clsVec) < 0.999, 'cls pooling differs from mean pooling');
    const info = await readGgufFileInfo(clsFixture.path, { logWarnings: false });
    assert.equal(info.architectureMetadata.pooling_type, 2);
  });
});

describe('benchmark-sized llama fixture', () => {
  test('8 layers × 512 embd in F16 writes and loads', async (t) => {
    const started = performance.now();
    const fixture = await writeLlamaFixture(join(dir, 'llama-large.gguf'), {
      layers: 8,
      embd: 512,
      ff: 1376,
      heads: 8,
      headsKv: 8,
      type: 'F16',
    });
    const written = performance.now();
    const model = await load(fixture.path);
    const loaded = performance.now();
    assert.ok(fixture.bytes > 50e6 && fixture.bytes < 60e6, `${fixture.bytes} bytes`);
    // model.size counts tensor data only, so it is a little under the file size (header ≈ tens of KB).
    assert.ok(Math.abs(model.size - fixture.bytes) / fixture.bytes < 0.01, `model.size ${model.size} vs ${fixture.bytes}`);
    assert.equal(model.fileInsights.totalLayers, 9);
    t.diagnostic(`write ${(written - started).toFixed(0)} ms, load ${(loaded - written).toFixed(0)} ms`);
    await model.dispose();
    await rm(fixture.path);
  });
});
