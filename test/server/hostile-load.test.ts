import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { stateReached } from '../support/pool-bed.js';
import { rawRequest } from '../support/raw-http.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { waitFor } from '../support/wait.js';

const post = (url: string, body: unknown, init: RequestInit = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), ...init });

/**
 * No single request can starve the server: a client that leaves during a
 * load, a long generation next to embeddings, a model that cannot be placed,
 * a keep-alive past the end of time, a drain that would never end.
 */
describe('hostile load', { timeout: 300_000 }, () => {
  describe('one server, no preloads, one model at a time', () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer({ env: { HEARTH_MAX_LOADED_MODELS: '1', HEARTH_LOAD_WAIT: '10m' } });
    });
    after(() => s.close());

    test('a streamed chat whose client leaves while its model loads is abandoned, and the model is not marked failed', async () => {
      // Hold the only slot, so the chat's load waits for room: the client leaves during that wait.
      const busy = await s.pool.acquire('tiny-bert');
      const loading = stateReached(s.pool, 'tiny-llama', 'loading');
      const client = new AbortController();
      const chat = post(`${s.url}/v1/chat/completions`, { model: 'tiny-llama', messages: [{ role: 'user', content: 'hi' }], stream: true }, { signal: client.signal }).catch((e: unknown) => e);
      await loading;
      const abandoned = stateReached(s.pool, 'tiny-llama', 'cached');
      client.abort();
      await chat;
      // The only waiter left, so the load stops and the model goes back to "in the store, not loaded".
      await abandoned;
      busy.release();
      const llama = s.pool.list().find((m) => m.ref.endsWith('tiny-llama.gguf'));
      assert.ok(!llama?.loaded, 'nothing loaded for a client that left');
      assert.equal(llama?.error, undefined);
      const health = (await (await fetch(`${s.url}/health`)).json()) as { status: string };
      assert.equal(health.status, 'ok');
      const served = await post(`${s.url}/v1/chat/completions`, { model: 'tiny-llama', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
      assert.equal(served.status, 200, 'the next client is served');
    });

    test('a keep_alive past the last representable date means for ever; /health, /ready and /api/ps keep answering', async () => {
      for (const keepAlive of [1e13, '9999999999h', 1e308]) {
        const r = await post(`${s.url}/api/generate`, { model: 'tiny-llama', prompt: 'x', stream: false, keep_alive: keepAlive, options: { num_predict: 1 } });
        assert.equal(r.status, 200, JSON.stringify(keepAlive));
        for (const path of ['/health', '/ready', '/api/ps']) {
          const answer = await fetch(`${s.url}${path}`);
          assert.equal(answer.status, 200, `${path} after keep_alive ${JSON.stringify(keepAlive)}`);
        }
        const ps = (await (await fetch(`${s.url}/api/ps`)).json()) as { models: Array<{ name: string; expires_at: string }> };
        assert.equal(ps.models.find((m) => m.name === 'tiny-llama')?.expires_at, '2318-08-23T00:00:00Z', 'shown as never expiring');
      }
    });

    test('a load waiting for room past the drain time is ended by the shutdown, with a 503', async () => {
      const d = await startTestServer({ env: { HEARTH_MAX_LOADED_MODELS: '1', HEARTH_LOAD_WAIT: '10m', HEARTH_DRAIN_TIMEOUT: '200ms' } });
      try {
        const busy = await d.pool.acquire('tiny-bert');
        const loading = stateReached(d.pool, 'tiny-llama', 'loading');
        const stuck = post(`${d.url}/api/generate`, { model: 'tiny-llama', prompt: 'x', stream: false });
        await loading;
        await d.server.close();
        const answer = await stuck;
        assert.equal(answer.status, 503);
        assert.match(await answer.text(), /shutting down/);
        busy.release();
      } finally {
        await d.close();
      }
    });
  });

  describe('two preloads fill the pool', () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer({ env: { HEARTH_MAX_LOADED_MODELS: '2', HEARTH_PRELOAD: 'tiny-bert,tiny-onnx' } });
      await s.server.warm();
      await waitFor(async () => (await fetch(`${s.url}/ready`)).status === 200, { what: '/ready' });
    });
    after(() => s.close());

    test('a third model fails fast with POOL_FULL (503, Retry-After) and /health stays ok', async () => {
      const r = await post(`${s.url}/api/generate`, { model: 'tiny-llama', prompt: 'x', stream: false });
      assert.equal(r.status, 503);
      assert.ok(r.headers.get('retry-after'));
      assert.match(await r.text(), /preload/);
      const health = (await (await fetch(`${s.url}/health`)).json()) as { status: string };
      assert.equal(health.status, 'ok', 'a refused load is not a failed model');
    });

    test('a client cannot unload or delete a preloaded model: 409 MODEL_PINNED, and /ready stays 200', async () => {
      for (const path of ['/api/generate', '/api/chat']) {
        const r = await post(`${s.url}${path}`, { model: 'tiny-bert', keep_alive: 0 });
        assert.equal(r.status, 409, path);
        assert.match(await r.text(), /preloaded/);
      }
      const withPrompt = await post(`${s.url}/api/embed`, { model: 'tiny-bert', input: 'x', keep_alive: 0 });
      assert.equal(withPrompt.status, 200, 'a request with keep_alive 0 is served, and the model stays');
      const del = await fetch(`${s.url}/api/delete`, { method: 'DELETE', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'tiny-onnx' }) });
      assert.equal(del.status, 409);
      assert.equal((await fetch(`${s.url}/ready`)).status, 200);
      const ps = (await (await fetch(`${s.url}/api/ps`)).json()) as { models: Array<{ name: string }> };
      assert.deepEqual(ps.models.map((m) => m.name).sort(), ['tiny-bert', 'tiny-onnx']);
    });
  });

  describe('fairness between models', () => {
    let s: TestServer;
    before(async () => {
      // Generation on every core, so a decode step and an embedding batch always compete; and a context
      // (the fixture's 65536 tokens) that the chats cannot finish before the test ends them.
      s = await startTestServer({ env: { HEARTH_THREADS: '2', HEARTH_CONTEXT_SIZE: '65536', HEARTH_MAX_TOKENS: '60000' } });
    });
    after(() => s.close());

    test('embeddings on one model are served while two streamed chats run on another', async () => {
      // The embedding model is loaded first: what is tested is the wait for the cores, not a load.
      assert.equal((await post(`${s.url}/v1/embeddings`, { model: 'tiny-onnx', input: 'warm' })).status, 200);
      const clients = [new AbortController(), new AbortController()];
      const streams = clients.map((client, i) => openChat(`${s.url}/v1/chat/completions`, { model: 'tiny-llama', messages: [{ role: 'user', content: `story ${i}` }], max_tokens: 60_000, stream: true }, client.signal));
      await waitFor(() => streams.every((c) => c.chunks > 0), { what: 'both chats to stream' });
      for (let i = 0; i < 5; i++) {
        const r = await post(`${s.url}/v1/embeddings`, { model: 'tiny-onnx', input: [`query ${i}`, 'a second text'] });
        assert.equal(r.status, 200);
      }
      // Neither chat had finished when the last embedding came back: nothing waited for a reply to end.
      assert.deepEqual(streams.map((c) => c.finished), [false, false]);
      for (const client of clients) client.abort();
      await Promise.all(streams.map((c) => c.done));
    });
  });

  describe('with an API key and CORS', () => {
    let s: TestServer;
    before(async () => {
      s = await startTestServer({ env: { HEARTH_API_KEY: 'secret-key-123', HEARTH_CORS_ORIGINS: 'http://app.example' } });
    });
    after(() => s.close());

    test('a preflight from a listed origin is answered without the key; the request itself still needs it', async () => {
      const preflight = await fetch(`${s.url}/v1/chat/completions`, {
        method: 'OPTIONS',
        headers: { origin: 'http://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
      });
      assert.ok(preflight.status === 204 || preflight.status === 200, String(preflight.status));
      assert.equal(preflight.headers.get('access-control-allow-origin'), 'http://app.example');
      const unkeyed = await post(`${s.url}/v1/embeddings`, { model: 'tiny-bert', input: 'x' }, { headers: { 'content-type': 'application/json', origin: 'http://app.example' } });
      assert.equal(unkeyed.status, 401);
      // With a key, host names are not restricted: the key is the guard (fetch would rewrite Host, so the request is sent raw).
      const { port } = new URL(s.url);
      const keyed = await rawRequest(Number(port), 'GET /v1/models HTTP/1.1\r\nHost: hearth.example\r\nAuthorization: Bearer secret-key-123\r\nConnection: close\r\n\r\n');
      assert.match(keyed, /^HTTP\/1.1 200/);
      const unkeyedHost = await rawRequest(Number(port), 'GET /v1/models HTTP/1.1\r\nHost: hearth.example\r\nConnection: close\r\n\r\n');
      assert.match(unkeyedHost, /^HTTP\/1.1 401/, 'the key is checked, not the host');
    });
  });
});

/** A streamed chat read in the background: how many content chunks came, and whether it finished by itself. */
function openChat(url: string, body: unknown, signal: AbortSignal): { chunks: number; finished: boolean; done: Promise<void> } {
  const state = { chunks: 0, finished: false, done: Promise.resolve() };
  state.done = (async () => {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal });
    const decoder = new TextDecoder();
    for await (const bytes of response.body!) {
      const text = decoder.decode(bytes as Uint8Array, { stream: true });
      state.chunks += (text.match(/"content":/g) ?? []).length;
      if (/"finish_reason":"(stop|length)"/.test(text) || text.includes('[DONE]')) state.finished = true;
    }
  })().catch((error: unknown) => {
    if (!signal.aborted) throw error;
  });
  return state;
}
