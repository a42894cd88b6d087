import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../support/wait.js';
import { startFakeHub, type FakeHub } from '../support/fake-hub.js';
import { writeBertFixture } from '../support/gguf-fixtures.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

const json = { 'content-type': 'application/json' };
const post = (url: string, body: unknown, headers: Record<string, string> = {}) => fetch(url, { method: 'POST', headers: { ...json, ...headers }, body: JSON.stringify(body) });

describe('server behaviour: auth, backpressure, health under load, metrics', () => {
  describe('with an API key', () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer({ env: { HEARTH_API_KEY: 'secret-key-123', HEARTH_CORS_ORIGINS: 'http://app.example' } });
    });
    after(() => s.close());

    test('/health needs no key; everything else needs the right bearer token', async () => {
      assert.equal((await fetch(`${s.url}/health`)).status, 200);
      const missing = await fetch(`${s.url}/v1/models`);
      assert.equal(missing.status, 401);
      assert.deepEqual(Object.keys(((await missing.json()) as { error: object }).error).sort(), ['code', 'message', 'param', 'type']);
      const wrong = await fetch(`${s.url}/api/tags`, { headers: { authorization: 'Bearer nope' } });
      assert.equal(wrong.status, 401);
      assert.match(((await wrong.json()) as { error: string }).error, /wrong API key/);
      assert.equal((await fetch(`${s.url}/api/tags`, { headers: { authorization: 'Bearer secret-key-123' } })).status, 200);
    });

    test('CORS answers only configured origins', async () => {
      const allowed = await fetch(`${s.url}/health`, { headers: { origin: 'http://app.example' } });
      assert.equal(allowed.headers.get('access-control-allow-origin'), 'http://app.example');
      const other = await fetch(`${s.url}/health`, { headers: { origin: 'http://evil.example' } });
      assert.equal(other.headers.get('access-control-allow-origin'), null);
    });
  });

  describe('defaults', () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer();
    });
    after(() => s.close());

    test('CORS is off unless configured', async () => {
      const r = await fetch(`${s.url}/health`, { headers: { origin: 'http://app.example' } });
      assert.equal(r.headers.get('access-control-allow-origin'), null);
    });

    test('/health answers while a model loads and while 32 requests are in flight', async () => {
      const order: string[] = [];
      const work = Array.from({ length: 32 }, (_, i) =>
        post(`${s.url}/api/generate`, { model: 'tiny-llama', prompt: `story ${i}`, stream: false, options: { num_predict: 16 } }).then(async (r) => {
          order.push(`request:${r.status}`);
          return r.status;
        }),
      );
      // Health while the first request is loading the model, and while the rest queue behind it.
      for (let i = 0; i < 5; i++) {
        assert.equal((await fetch(`${s.url}/health`)).status, 200);
        order.push('health');
      }
      const statuses = await Promise.all(work);
      assert.deepEqual(order.slice(0, 5), ['health', 'health', 'health', 'health', 'health'], `health waited for inference: ${order.slice(0, 8).join(',')}`);
      assert.deepEqual(new Set(statuses), new Set([200]));
    });

    test('a full queue answers 503 with Retry-After, in the caller\'s error shape', async () => {
      const q = await startTestServer({ env: { HEARTH_MAX_QUEUE: '3' } });
      try {
        const slow = Array.from({ length: 3 }, () => post(`${q.url}/v1/completions`, { model: 'tiny-llama', prompt: 'x', max_tokens: 200 }));
        await waitFor(() => q.server.context.access.depth('tiny-llama') >= 3, { what: 'three requests in the queue' });
        const rejected = await post(`${q.url}/v1/completions`, { model: 'tiny-llama', prompt: 'x', max_tokens: 1 });
        assert.equal(rejected.status, 503);
        assert.equal(rejected.headers.get('retry-after'), '1');
        assert.equal(((await rejected.json()) as { error: { code: string } }).error.code, 'queue_full');
        assert.deepEqual((await Promise.all(slow)).map((r) => r.status), [200, 200, 200]);
        assert.equal(q.server.context.access.depth('tiny-llama'), 0, 'the queue drains back to zero');
      } finally {
        await q.close();
      }
    });

    test('malformed JSON, an oversized body and an unknown route are clear 4xx errors', async () => {
      const bad = await fetch(`${s.url}/api/embed`, { method: 'POST', headers: json, body: '{"model": ' });
      assert.equal(bad.status, 400);
      assert.match(((await bad.json()) as { error: string }).error, /malformed JSON/);
      const big = await post(`${s.url}/api/embed`, { model: 'tiny-bert', input: 'x'.repeat(17 * 1024 * 1024) });
      assert.equal(big.status, 413);
      const nowhere = await fetch(`${s.url}/nowhere`);
      assert.equal(nowhere.status, 404);
      assert.equal(((await nowhere.json()) as { error: { code: string } }).error.code, 'ROUTE_NOT_FOUND');
      const invalid = await post(`${s.url}/v1/embeddings`, { model: 'tiny-bert' });
      assert.equal(invalid.status, 400);
      assert.match(((await invalid.json()) as { error: { message: string } }).error.message, /input/);
    });

    test('dimensions shortens and re-normalizes vectors; more than the model has is a 400', async () => {
      const r = await post(`${s.url}/v1/embeddings`, { model: 'tiny-bert', input: 'the cat', dimensions: 16, encoding_format: 'float' });
      const vector = ((await r.json()) as { data: Array<{ embedding: number[] }> }).data[0]!.embedding;
      assert.equal(vector.length, 16);
      assert.ok(Math.abs(Math.hypot(...vector) - 1) < 1e-5);
      const ollama = (await (await post(`${s.url}/api/embed`, { model: 'tiny-bert', input: 'the cat', dimensions: 8 })).json()) as { embeddings: number[][] };
      assert.equal(ollama.embeddings[0]!.length, 8);
      assert.equal((await post(`${s.url}/v1/embeddings`, { model: 'tiny-bert', input: 'x', dimensions: 4096 })).status, 400);
    });

    test('asking an embedding model to generate is a 400 before any stream opens', async () => {
      const streamed = await post(`${s.url}/v1/chat/completions`, { model: 'tiny-bert', stream: true, messages: [{ role: 'user', content: 'hi' }] });
      assert.equal(streamed.status, 400);
      assert.equal(((await streamed.json()) as { error: { code: string } }).error.code, 'model_unsupported');
      const ollama = await post(`${s.url}/api/generate`, { model: 'tiny-bert', prompt: 'hi' });
      assert.equal(ollama.status, 400);
      assert.equal(s.pool.list().find((m) => m.name === 'tiny-bert')?.inFlight ?? 0, 0, 'the lease was released');
    });

    test('no request field becomes a file path or a URL the server fetches', async () => {
      const byPath = await post(`${s.url}/api/embed`, { model: s.fixtures.bert, input: 'x' });
      assert.equal(byPath.status, 404);
      assert.match(((await byPath.json()) as { error: string }).error, /file paths are not accepted/);
      assert.equal((await post(`${s.url}/api/pull`, { model: '/etc/passwd', stream: false })).status, 404);
      assert.equal((await post(`${s.url}/api/show`, { model: 'http://127.0.0.1:9/model.gguf' })).status, 404);
      assert.equal((await post(`${s.url}/v1/embeddings`, { model: '../../etc/passwd', input: 'x' })).status, 404);
      assert.ok(!(await s.store.list()).some((e) => e.ref === '/etc/passwd'), 'nothing was registered');
      assert.equal((await post(`${s.url}/api/embed`, { model: 'tiny-bert', input: 'x' })).status, 200, 'an alias of the same file works');
    });

    test('features not implemented yet are refused by name, never silently ignored', async () => {
      const functions = await post(`${s.url}/v1/chat/completions`, { model: 'tiny-llama', messages: [{ role: 'user', content: 'hi' }], functions: [{ name: 'f' }] });
      assert.equal(functions.status, 400);
      assert.match(((await functions.json()) as { error: { message: string } }).error.message, /functions is not supported/);
      const tools = await post(`${s.url}/api/chat`, { model: 'tiny-llama', messages: [{ role: 'user', content: 'hi' }], tools: [{ type: 'function' }] });
      assert.equal(tools.status, 400);
      const plain = await post(`${s.url}/v1/chat/completions`, { model: 'tiny-llama', messages: [{ role: 'user', content: 'hi' }], response_format: { type: 'text' }, max_tokens: 1 });
      assert.equal(plain.status, 200);
    });

    test('/metrics exposes requests, latency, batches, queue depth, tokens and loaded models', async () => {
      await post(`${s.url}/api/embed`, { model: 'tiny-bert', input: ['a', 'b'] });
      const text = await (await fetch(`${s.url}/metrics`)).text();
      for (const name of [
        'hearth_http_requests_total',
        'hearth_http_request_duration_seconds_bucket',
        'hearth_embedding_batch_size_bucket',
        'hearth_embedding_batch_tokens_total',
        'hearth_queue_depth',
        'hearth_generated_tokens_total',
        'hearth_models_loaded',
        'hearth_model_load_seconds',
      ]) {
        assert.ok(text.includes(name), `missing ${name}`);
      }
      assert.match(text, /hearth_http_requests_total\{route="\/api\/embed",method="POST",status="200",model="tiny-bert"\} \d+/);
    });
  });

  describe('pull on demand', () => {
    let hub: FakeHub;
    let model: Buffer;
    before(async () => {
      hub = await startFakeHub();
      const dir = await mkdtemp(join(tmpdir(), 'hearth-auto-'));
      await writeBertFixture(join(dir, 'm.gguf'), { seed: 9, context: 128 });
      model = await readFile(join(dir, 'm.gguf'));
      await rm(dir, { recursive: true });
      hub.addRepo({ id: 'acme/auto', files: [{ path: 'm.gguf', content: model }] });
    });
    after(() => hub.close());

    test('an unknown model is a 404 unless HEARTH_AUTO_PULL=1, which pulls it when online', async () => {
      const off = await startTestServer({ endpoint: hub.url });
      try {
        assert.equal((await post(`${off.url}/api/embed`, { model: 'hf:acme/auto/m.gguf', input: 'x' })).status, 404);
        assert.equal(hub.stats.bodyGets, 0);
      } finally {
        await off.close();
      }
      const on = await startTestServer({ endpoint: hub.url, env: { HEARTH_AUTO_PULL: '1' } });
      try {
        const r = await post(`${on.url}/api/embed`, { model: 'hf:acme/auto/m.gguf', input: 'x' });
        assert.equal(r.status, 200);
        assert.equal(((await r.json()) as { embeddings: number[][] }).embeddings[0]!.length, 64);
        assert.equal(hub.stats.byPath.get('m.gguf')?.fullGets, 1);
      } finally {
        await on.close();
      }
    });
  });

  describe('readiness', () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer({ env: { HEARTH_PRELOAD: 'tiny-bert' } });
    });
    after(() => s.close());

    test('/ready is 503 until every preloaded model is ready, then 200', async () => {
      // The test server has not started its preloads yet: nothing is ready.
      const first = await fetch(`${s.url}/ready`);
      assert.equal(first.status, 503);
      assert.deepEqual(await first.json(), { ready: false, models: [{ name: 'tiny-bert', state: 'cached' }] });
      await s.server.warm();
      const ready = await fetch(`${s.url}/ready`);
      assert.equal(ready.status, 200);
      assert.deepEqual(((await ready.json()) as { models: Array<{ state: string }> }).models.map((m) => m.state), ['ready']);
    });
  });
});
