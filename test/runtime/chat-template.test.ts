import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '../../src/log/logger.js';
import { LlamaBackend } from '../../src/runtime/llama/llama-backend.js';
import { plainPrompt } from '../../src/runtime/plain-prompt.js';
import type { ChatMessage, LoadedModel } from '../../src/runtime/types.js';
import { collect } from '../support/backend-conformance.js';
import { writeLlamaFixture } from '../support/gguf-fixtures.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';

/**
 * One rule for a model without a chat template, wherever a chat reaches it
 * (the OpenAI and Ollama APIs, `hearth run`): the messages' text, joined by
 * blank lines, as a plain completion; never a template made up for it.
 */
describe('chat on a model without a chat template', () => {
  let dir: string;
  let box: Sandbox;
  let backend: LlamaBackend;
  let model: LoadedModel;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hearth-base-model-'));
    await writeLlamaFixture(join(dir, 'base.gguf'), { seed: 9, chatTemplate: false });
    box = await createSandbox();
    backend = new LlamaBackend({ device: 'cpu', logger: silentLogger });
    model = await backend.load(await box.store().resolve(join(dir, 'base.gguf')), { threads: 1, parallel: 1 });
  });
  after(async () => {
    await model?.dispose();
    await backend?.dispose();
    await box?.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  test('the model reports no template', () => {
    assert.equal(model.info.chatTemplate, undefined);
  });

  test('a chat is the plain completion of its messages: same prompt tokens, same text', async () => {
    const messages: ChatMessage[] = [
      { role: 'system', content: 'the cat sat' },
      { role: 'user', content: 'on the mat' },
    ];
    const chat = await collect(model.generate({ kind: 'chat', messages, maxTokens: 8, temperature: 0 }));
    // The prompt written out, rather than computed by the code under test.
    const completion = await collect(model.generate({ kind: 'completion', prompt: 'the cat sat\n\non the mat', maxTokens: 8, temperature: 0 }));
    assert.equal(chat.text, completion.text);
    assert.equal(chat.done.promptTokens, completion.done.promptTokens);
    assert.equal(plainPrompt(messages), 'the cat sat\n\non the mat');
  });
});
