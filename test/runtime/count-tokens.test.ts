import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { isHearthError } from '../../src/errors/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { LlamaBackend } from '../../src/runtime/llama/llama-backend.js';
import { OnnxBackend } from '../../src/runtime/onnx/onnx-backend.js';
import type { Backend, LoadedModel } from '../../src/runtime/types.js';
import { createModelFixtures, type ModelFixtures } from '../support/model-fixtures.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';

const TEXTS = [
  'hello',
  'the quick brown fox jumps over the lazy dog',
  'Mixed CASE, punctuation!? and digits 12345.',
  '我们去学校。他很好。',
  'deadbeef'.repeat(12),
  '  leading and trailing spaces  ',
];

describe('countTokens and the input budget agree with what embed() evaluates', () => {
  let fixtures: ModelFixtures;
  let box: Sandbox;
  const llama = new LlamaBackend({ device: 'cpu', logger: silentLogger });
  const onnx = new OnnxBackend({ logger: silentLogger, batch: { maxTokens: 512, maxRows: 32 } });
  const loaded: LoadedModel[] = [];

  before(async () => {
    fixtures = await createModelFixtures();
    box = await createSandbox();
  });
  after(async () => {
    await Promise.all(loaded.map((m) => m.dispose()));
    await llama.dispose();
    await onnx.dispose();
    await box?.cleanup();
    await fixtures?.cleanup();
  });

  async function load(backend: Backend, ref: string): Promise<LoadedModel> {
    const model = await backend.load(await box.store().resolve(ref), { threads: 1, parallel: 1 });
    loaded.push(model);
    return model;
  }

  const cases: Array<{ name: string; backend: () => Backend; ref: () => string; specials: number; budget: boolean }> = [
    // [CLS] … [SEP] from llama.cpp's WPM tokenizer rules.
    { name: 'GGUF bert (llama.cpp)', backend: () => llama, ref: () => fixtures.bert, specials: 2, budget: true },
    // A decoder embeds too: BOS only. Its 8k embedding context is too slow to fill on a loaded test machine.
    { name: 'GGUF llama decoder (llama.cpp)', backend: () => llama, ref: () => fixtures.llama, specials: 1, budget: false },
    // The tokenizer.json template's [CLS] … [SEP].
    { name: 'ONNX bert (onnxruntime)', backend: () => onnx, ref: () => fixtures.onnxBert, specials: 2, budget: true },
  ];

  for (const c of cases) {
    test(`${c.name}: countTokens(t) + specialTokens is embed()'s token count`, async () => {
      const model = await load(c.backend(), c.ref());
      assert.equal(model.specialTokens, c.specials);
      const { tokens } = await model.embed(TEXTS);
      TEXTS.forEach((text, i) => assert.equal(model.countTokens(text) + model.specialTokens, tokens[i], JSON.stringify(text)));
      assert.equal(model.countTokens(''), 0);
    });

    if (!c.budget) continue;
    test(`${c.name}: a text of maxInputTokens - specialTokens tokens embeds whole; one token more is INPUT_TOO_LONG`, async () => {
      const model = await load(c.backend(), c.ref());
      const room = model.maxInputTokens - model.specialTokens;
      const fits = 'the '.repeat(room).trim();
      assert.equal(model.countTokens(fits), room, '"the" is one token in the fixture vocabularies');
      const { tokens } = await model.embed([fits]);
      assert.equal(tokens[0], model.maxInputTokens);
      await assert.rejects(model.embed([`${fits} the`]), (e: unknown) => isHearthError(e, 'INPUT_TOO_LONG'));
    });
  }

  /** The real TinyStories llama, provided by CI through HEARTH_TEST_MODEL: a trained SentencePiece vocabulary. */
  const real = process.env.HEARTH_TEST_MODEL;
  test('a real trained model (stories260K): countTokens(t) + specialTokens is embed()\'s token count', { skip: real && existsSync(real) ? false : 'HEARTH_TEST_MODEL is not set' }, async () => {
    const model = await load(llama, real!);
    const { tokens } = await model.embed(TEXTS);
    TEXTS.forEach((text, i) => assert.equal(model.countTokens(text) + model.specialTokens, tokens[i], JSON.stringify(text)));
  });

  test('maxInputTokens is the embedding limit, not identity.contextSize: a decoder generates in 4096 but embeds up to 8191', async () => {
    const model = await load(llama, fixtures.llama);
    assert.equal(model.identity.contextSize, 4096);
    assert.equal(model.maxInputTokens, 8191);
  });

  test('countTokens on an unloaded model is a typed error, not a crash in the engine', async () => {
    const model = await load(llama, fixtures.bert);
    await model.dispose();
    assert.throws(() => model.countTokens('hello'), (e: unknown) => isHearthError(e, 'MODEL_LOAD_FAILED'));
  });
});
