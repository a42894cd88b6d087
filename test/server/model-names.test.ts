import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { startFakeHub, type FakeHub } from '../support/fake-hub.js';
import { writeBertFixture } from '../support/gguf-fixtures.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { waitFor } from '../support/wait.js';
import { pcm16Wav, tone } from '../support/wav-writer.js';

/**
 * Every id hearth lists is a model name that works in every API: a preload
 * given as a file path is listed by its Ollama-style name, never by the path;
 * an alias of a local directory is listed before its first use.
 */
describe('model names over HTTP', { timeout: 300_000 }, () => {
  let hub: FakeHub;
  let s: TestServer;
  let dir: string;
  let openai: OpenAI;
  let ollama: Ollama;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'hearth-names-'));
    await writeBertFixture(join(dir, 'Embedder-Q8_0.gguf'), { seed: 11, context: 128 });
    hub = await startFakeHub();
    hub.addRepo({ id: 'acme/untagged-GGUF', files: [{ path: 'model.gguf', content: await readFile(join(dir, 'Embedder-Q8_0.gguf')) }] });
    s = await startTestServer({ endpoint: hub.url, env: { HEARTH_PRELOAD: join(dir, 'Embedder-Q8_0.gguf') } });
    await s.server.warm();
    await waitFor(async () => (await fetch(`${s.url}/ready`)).status === 200, { what: '/ready' });
    openai = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    ollama = new Ollama({ host: s.url });
  });
  after(async () => {
    await s?.close();
    await hub?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('a preload given as a path is listed by its name everywhere, and never by the path', async () => {
    const health = (await (await fetch(`${s.url}/health`)).json()) as { model_name: string; models: Array<{ name: string }> };
    assert.equal(health.model_name, 'embedder:q8_0');
    const ready = (await (await fetch(`${s.url}/ready`)).json()) as { models: Array<{ name: string }> };
    assert.deepEqual(ready.models.map((m) => m.name), ['embedder:q8_0']);
    const ps = (await ollama.ps()).models.map((m) => m.name);
    assert.ok(ps.includes('embedder:q8_0'), JSON.stringify(ps));
    const v1 = (await openai.models.list()).data.map((m) => m.id);
    const tags = (await ollama.list()).models.map((m) => m.name);
    assert.ok(v1.includes('embedder:q8_0'), JSON.stringify(v1));
    assert.deepEqual(new Set(v1), new Set(tags), '/v1/models and /api/tags list the same names');
    for (const listing of [JSON.stringify(health), JSON.stringify(ps), JSON.stringify(v1), JSON.stringify(tags)]) assert.ok(!listing.includes(dir), `a path leaked: ${listing}`);
  });

  test('an alias of a local directory is listed before its first use, and no raw path next to it', async () => {
    const v1 = (await openai.models.list()).data.map((m) => m.id);
    assert.ok(v1.includes('tiny-onnx'), JSON.stringify(v1));
    assert.ok(v1.every((id) => !id.startsWith('/')), JSON.stringify(v1));
    await openai.embeddings.create({ model: 'tiny-onnx', input: 'first use' });
    const after = (await openai.models.list()).data.map((m) => m.id);
    assert.deepEqual(new Set(after), new Set(v1), 'using it adds no second entry');
  });

  test('every listed name works in every API', async () => {
    const names = (await openai.models.list()).data.map((m) => m.id);
    for (const name of names) {
      const shown = await ollama.show({ model: name });
      if (shown.capabilities.includes('completion')) {
        const chat = await openai.chat.completions.create({ model: name, messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
        assert.equal(chat.choices.length, 1, name);
        const generated = await ollama.generate({ model: name, prompt: 'hi', options: { num_predict: 2 } });
        assert.equal(generated.done, true, name);
      } else if (shown.capabilities.includes('speaker-embedding')) {
        const form = new FormData();
        form.append('model', name);
        form.append('file', new Blob([pcm16Wav([tone(0.5, 16000)], 16000)]), 'hi.wav');
        const response = await fetch(`${s.url}/v1/audio/embeddings`, { method: 'POST', body: form });
        assert.equal(response.status, 200, `${name}: ${await response.clone().text()}`);
      } else {
        const embedded = await openai.embeddings.create({ model: name, input: 'hi' });
        assert.equal(embedded.data.length, 1, name);
        const viaOllama = await ollama.embed({ model: name, input: 'hi' });
        assert.equal(viaOllama.embeddings.length, 1, name);
      }
    }
    // A name without a tag means :latest, as in Ollama; case does not matter.
    const tagless = await ollama.embed({ model: 'Tiny-ONNX', input: 'hi' });
    assert.equal(tagless.embeddings.length, 1);
  });

  test(':latest is the repo default; a quant tag no file carries is a 404 that names the untagged files', async () => {
    const pulled = await ollama.pull({ model: 'hf.co/acme/untagged-GGUF:latest' });
    assert.equal(pulled.status, 'success');
    const names = (await ollama.list()).models.map((m) => m.name);
    assert.ok(names.includes('untagged:latest'), JSON.stringify(names));
    assert.equal((await ollama.embed({ model: 'untagged:latest', input: 'x' })).embeddings.length, 1);
    const missing = await fetch(`${s.url}/api/pull`, { method: 'POST', body: JSON.stringify({ model: 'hf:acme/untagged-GGUF:Q8_0', stream: false }) });
    assert.equal(missing.status, 404);
    const message = ((await missing.json()) as { error: string }).error;
    assert.match(message, /Q8_0/);
    assert.match(message, /model\.gguf/, 'names the file that has no quant tag');
  });
});
