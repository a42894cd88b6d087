import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runHearth } from '../support/hearth-cli.js';
import { writeBertOnnxFixture } from '../support/bert-onnx-fixture.js';
import { writeBertFixture } from '../support/gguf-fixtures.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';
import { assertSame } from '../support/assertions.js';

interface EmbedOutput {
  model: string;
  runtime: { engine: string; digest: string; threads: number; parallel: number };
  dims: number;
  pooling: string;
  normalized: boolean;
  embeddings: Array<{ index: number; text: string; tokens: number; norm: number; vector?: number[] }>;
}

const TOP_KEYS = ['dims', 'embeddings', 'model', 'normalized', 'pooling', 'runtime'];
const ITEM_KEYS = ['index', 'norm', 'text', 'tokens'];
const TEXTS = ['hello world', 'the cat sat on the mat', 'a third, longer text about water and people'];

async function embed(box: Sandbox, args: string[]): Promise<EmbedOutput> {
  const r = await runHearth(['embed', ...args], box.env({ HEARTH_THREADS: '1' }));
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as EmbedOutput;
}

function assertShape(out: EmbedOutput, model: string, texts: string[], full: boolean): void {
  assert.deepEqual(Object.keys(out).sort(), TOP_KEYS);
  assert.equal(out.model, model);
  assert.ok(out.runtime.engine && out.runtime.digest && out.runtime.threads >= 1 && out.runtime.parallel >= 1, JSON.stringify(out.runtime));
  assert.ok(out.dims > 0);
  assert.equal(typeof out.pooling, 'string');
  assert.equal(out.normalized, true);
  assert.equal(out.embeddings.length, texts.length);
  out.embeddings.forEach((item, i) => {
    assert.deepEqual(Object.keys(item).sort(), full ? [...ITEM_KEYS, 'vector'].sort() : ITEM_KEYS);
    assert.equal(item.index, i);
    assert.equal(item.text, texts[i]);
    assert.ok(Number.isInteger(item.tokens) && item.tokens > 0);
    assert.ok(Math.abs(item.norm - 1) < 1e-4, `norm ${item.norm}`);
    if (full) assert.equal(item.vector!.length, out.dims);
  });
}

describe('hearth embed output', () => {
  let box: Sandbox;
  let onnx: string;
  let gguf: string;
  before(async () => {
    box = await createSandbox();
    onnx = join(box.root, 'tiny-onnx');
    gguf = join(box.root, 'tiny-bert.gguf');
    await writeBertOnnxFixture(onnx, { seed: 11 });
    await writeBertFixture(gguf, { seed: 12, context: 128 });
  });
  after(() => box.cleanup());

  test('one text and three texts give the same shape (ONNX)', async () => {
    const one = await embed(box, [onnx, TEXTS[0]!, '--full']);
    const three = await embed(box, [onnx, ...TEXTS, '--full']);
    assertShape(one, onnx, TEXTS.slice(0, 1), true);
    assertShape(three, onnx, TEXTS, true);
    assert.deepEqual(one.runtime, three.runtime);
    assertSame(three.embeddings[0]!.vector!, one.embeddings[0]!.vector!, 'the first text keeps its place and its vector in a batch');
  });

  test('without --full there are no vectors; the same shape on a GGUF model', async () => {
    assertShape(await embed(box, [gguf, TEXTS[0]!]), gguf, TEXTS.slice(0, 1), false);
    const three = await embed(box, [gguf, ...TEXTS]);
    assertShape(three, gguf, TEXTS, false);
    assert.equal(three.runtime.engine, 'llama.cpp');
  });
});
