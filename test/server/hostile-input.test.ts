import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, afterEach, before, describe, test } from 'node:test';
import { startFakeHub, type FakeHub } from '../support/fake-hub.js';
import { rawRequest } from '../support/raw-http.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { waitFor } from '../support/wait.js';

/**
 * Hostile input, bounded in count and time: every class of malformed body
 * on every route, the caps on inputs, tokens and metric labels, the host and
 * origin checks, slow bodies and what error text reveals. After each test the
 * server must still answer /health and serve a request.
 */
describe('hostile input', { timeout: 300_000 }, () => {
  let s: TestServer;
  let hub: FakeHub;
  before(async () => {
    hub = await startFakeHub();
    s = await startTestServer({ endpoint: hub.url, env: { HEARTH_MAX_INPUTS: '8', HEARTH_MAX_TOKENS: '64', HEARTH_PULL_TIMEOUT: '1s', HEARTH_PULL_RETRIES: '1' } });
  });
  after(async () => {
    await s.close();
    await hub.close();
  });
  afterEach(async () => {
    const health = await fetch(`${s.url}/health`);
    assert.equal(health.status, 200, '/health stays up');
    const served = await post('/api/embed', { model: 'tiny-bert', input: 'still serving' });
    assert.equal(served.status, 200, 'the server still serves');
  });

  const post = (path: string, body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
    fetch(`${s.url}${path}`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });

  const ROUTES = ['/v1/embeddings', '/v1/chat/completions', '/v1/completions', '/api/embed', '/api/embeddings', '/api/generate', '/api/chat', '/api/show', '/api/pull'];
  const BODIES: Array<[string, string]> = [
    ['not JSON', '{"model": '],
    ['an array', '[1, 2, 3]'],
    ['null', 'null'],
    ['a string', '"tiny-bert"'],
    ['a number', '42'],
    ['an empty object', '{}'],
    ['a model of the wrong type', '{"model": 42, "input": "x", "prompt": "x", "messages": []}'],
    ['a NUL in the model name', '{"model": "tiny\\u0000bert", "input": "x", "prompt": "x"}'],
    ['a path as the model name', '{"model": "../../etc/passwd", "input": "x", "prompt": "x"}'],
    // Named models no route may serve, so even a route that ignores the odd field answers 4xx.
    ['__proto__ keys', '{"__proto__": {"polluted": true}, "model": "no-such-model", "constructor": {"prototype": {"x": 1}}, "input": "x"}'],
    ['deep nesting', `{"model": "no-such-model", "input": ${'['.repeat(5000)}${']'.repeat(5000)}, "prompt": ${'['.repeat(5000)}${']'.repeat(5000)}}`],
    ['huge numbers', '{"model": "tiny-llama", "prompt": "x", "max_tokens": 1e308, "options": {"num_predict": 1e308, "temperature": -1e308}, "keep_alive": "x"}'],
    ['wrong field types', '{"model": "tiny-llama", "messages": "hi", "prompt": ["a", 1], "input": {"a": 1}, "stream": "yes", "options": []}'],
  ];

  test('malformed bodies on every route are 4xx in the route family\'s error shape, never 5xx', async () => {
    for (const route of ROUTES) {
      for (const [what, body] of BODIES) {
        // These name a real model with bad sampling fields, which /api/show and /api/pull rightly ignore.
        if ((what === 'huge numbers' || what === 'wrong field types') && (route === '/api/show' || route === '/api/pull')) continue;
        const r = await post(route, body);
        assert.ok(r.status >= 400 && r.status < 500, `${route} with ${what}: ${r.status} ${await r.clone().text()}`);
        const error = ((await r.json()) as { error: unknown }).error;
        if (route.startsWith('/v1/')) assert.equal(typeof (error as { message?: unknown }).message, 'string', `${route} ${what}: OpenAI shape`);
        else assert.equal(typeof error, 'string', `${route} ${what}: Ollama shape`);
      }
    }
    assert.equal(({} as { polluted?: unknown }).polluted, undefined, 'no prototype pollution');
  });

  test('Ollama\'s curl examples (-d without a JSON content type) work on /api; a body that is not JSON is a 415', async () => {
    const form = await post('/api/embed', { model: 'tiny-bert', input: 'from curl' }, { 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(form.status, 200, await form.clone().text());
    const bare = await fetch(`${s.url}/api/show`, { method: 'POST', body: Buffer.from(JSON.stringify({ model: 'tiny-bert' })) });
    assert.equal(bare.status, 200, await bare.clone().text());
    const plain = await post('/api/embed', { model: 'tiny-bert', input: 'plain' }, { 'content-type': 'text/plain' });
    assert.equal(plain.status, 200);
    const garbage = await post('/api/embed', 'model=tiny-bert&input=x', { 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(garbage.status, 415);
    assert.match(((await garbage.json()) as { error: string }).error, /not JSON/);
    // The OpenAI routes keep asking for JSON.
    const v1 = await post('/v1/embeddings', { model: 'tiny-bert', input: 'x' }, { 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(v1.status, 415);
  });

  test('more inputs than HEARTH_MAX_INPUTS is a 400 naming the limit, on both APIs; the limit itself is served', async () => {
    const nine = Array.from({ length: 9 }, (_, i) => `text ${i}`);
    for (const [route, field] of [['/v1/embeddings', 'input'], ['/api/embed', 'input']] as const) {
      const r = await post(route, { model: 'tiny-bert', [field]: nine });
      assert.equal(r.status, 400, route);
      assert.match(await r.text(), /at most 8/);
    }
    const eight = await post('/v1/embeddings', { model: 'tiny-bert', input: nine.slice(0, 8) });
    assert.equal(eight.status, 200);
    // A million inputs are refused before any is looked at.
    const million = await post('/api/embed', `{"model":"tiny-bert","input":[${'"a",'.repeat(999_999)}"a"]}`);
    assert.equal(million.status, 400);
    // One token array is one input, however long.
    const tokens = await post('/v1/embeddings', { model: 'tiny-bert', input: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] });
    assert.equal(tokens.status, 200);
  });

  test('max_tokens past the server bound is a 400; "unlimited" means the bound', async () => {
    const huge = await post('/v1/chat/completions', { model: 'tiny-llama', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 ** 53 - 1 });
    assert.equal(huge.status, 400);
    const refusal = await huge.text();
    assert.match(refusal, /64/);
    assert.match(refusal, /max_tokens: 9007199254740991 is more than this server generates for one request \(64\)/);
    // The fixture llama never emits its end token, so a generation runs exactly to the bound.
    const unlimited = await post('/api/generate', { model: 'tiny-llama', prompt: 'once', stream: false, options: { num_predict: -1, temperature: 0 } });
    assert.equal(unlimited.status, 200);
    const generated = (await unlimited.json()) as { eval_count: number; done_reason: string };
    assert.ok(generated.eval_count <= 64);
    assert.deepEqual([generated.eval_count, generated.done_reason], [64, 'length']);
    const chat = await post('/v1/chat/completions', { model: 'tiny-llama', messages: [{ role: 'user', content: 'hi' }] });
    const replied = (await chat.json()) as { usage: { completion_tokens: number }; choices: Array<{ finish_reason: string }> };
    assert.ok(replied.usage.completion_tokens <= 64, 'chat has a default bound');
    assert.deepEqual([replied.usage.completion_tokens, replied.choices[0]!.finish_reason], [64, 'length']);
  });

  test('a prompt longer than the context is a 400 INPUT_TOO_LONG, never silently cut', async () => {
    const long = 'once upon a time '.repeat(3000);
    const completion = await post('/v1/completions', { model: 'tiny-llama', prompt: long, max_tokens: 4 });
    assert.equal(completion.status, 400);
    assert.match(await completion.text(), /input_too_long/);
    const chat = await post('/api/chat', { model: 'tiny-llama', messages: [{ role: 'user', content: long }], stream: false });
    assert.equal(chat.status, 400);
    assert.match(await chat.text(), /context/);
  });

  test('metric labels come only from known models: made-up names cannot grow /metrics', async () => {
    const before = (await (await fetch(`${s.url}/metrics`)).text()).length;
    for (let i = 0; i < 200; i++) await post('/api/embed', { model: `made-up-${i}-${'x'.repeat(200)}`, input: 'x' });
    // Hub references that are not in the store, and every spelling of a real name (case, :latest).
    for (let i = 0; i < 50; i++) await post('/api/embed', { model: `hf:acme/absent/absent-${i}.gguf`, input: 'x' });
    for (const spelling of ['TINY-BERT', 'Tiny-Bert', 'tiny-bert:latest', 'tiny-BERT:LATEST']) {
      assert.equal((await post('/api/embed', { model: spelling, input: 'x' })).status, 200, spelling);
      assert.equal((await post('/v1/embeddings', { model: spelling, input: 'x' })).status, 200, spelling);
    }
    const text = await (await fetch(`${s.url}/metrics`)).text();
    assert.ok(!text.includes('made-up-'), 'no made-up name in the labels');
    assert.ok(!text.includes('absent-'), 'no unknown hub reference in the labels');
    for (const spelling of ['TINY-BERT', 'Tiny-Bert', 'tiny-bert:latest', 'tiny-BERT:LATEST']) assert.ok(!text.includes(`"${spelling}"`), `a spelling is not a label: ${spelling}`);
    assert.match(text, /model="other"/);
    assert.ok(text.length < before + 20_000, `/metrics grew from ${before} to ${text.length} bytes`);
    assert.match(text, /model="tiny-bert"/);
  });

  test('DNS rebinding: without a key, only loopback, IP and local host names are served', async () => {
    const { port } = new URL(s.url);
    const withHost = (host: string) => rawRequest(Number(port), `GET /v1/models HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
    assert.match(await withHost('attacker.example:8434'), /^HTTP\/1.1 403/);
    assert.match(await withHost('attacker.example'), /^HTTP\/1.1 403/);
    assert.match(await withHost(`localhost:${port}`), /^HTTP\/1.1 200/);
    assert.match(await withHost(`127.0.0.1:${port}`), /^HTTP\/1.1 200/);
    assert.match(await withHost(`[::1]:${port}`), /^HTTP\/1.1 200/);
    assert.match(await withHost('hearth.localhost'), /^HTTP\/1.1 200/);
    const deleted = await rawRequest(Number(port), `DELETE /api/delete HTTP/1.1\r\nHost: attacker.example\r\nContent-Type: application/json\r\nContent-Length: 22\r\nConnection: close\r\n\r\n{"model":"tiny-llama"}`);
    assert.match(deleted, /^HTTP\/1.1 403/);
  });

  test('a web page cannot drive the API from a visitor\'s browser: foreign origins are refused, loopback ones served', async () => {
    const evil = await post('/api/pull', { model: 'hf:acme/x/y.gguf' }, { 'content-type': 'text/plain', origin: 'http://evil.example' });
    assert.equal(evil.status, 403);
    assert.match(await evil.text(), /origin/);
    const local = await post('/api/embed', { model: 'tiny-bert', input: 'x' }, { 'content-type': 'application/json', origin: 'http://localhost:3000' });
    assert.equal(local.status, 200);
  });

  test('a body that never finishes arriving is cut off (HEARTH_REQUEST_TIMEOUT)', async () => {
    // A server of its own: the short timeout would otherwise apply to every request of this file.
    const slow = await startTestServer({ env: { HEARTH_REQUEST_TIMEOUT: '2s' } });
    try {
      const { port } = new URL(slow.url);
      const socket = connect(Number(port), '127.0.0.1');
      const closed = new Promise<string>((resolve) => {
        let data = '';
        socket.on('data', (d) => (data += d));
        socket.on('close', () => resolve(data));
      });
      socket.write('POST /api/embed HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"model": "tiny-');
      // The client stalls here for ever; the server must end the connection itself.
      const answer = await closed;
      assert.ok(answer === '' || /^HTTP\/1.1 408/.test(answer), answer);
    } finally {
      await slow.close();
    }
  });

  test('a hub that accepts and never answers fails an /api/pull (HUB_UNAVAILABLE), without holding /health', async () => {
    hub.inject({ kind: 'silent', times: Infinity });
    try {
      const pulling = post('/api/pull', { model: 'hf:acme/silent/m.gguf', stream: false });
      await waitFor(() => hub.stats.requests > 0, { what: 'the pull to reach the hub' });
      assert.equal((await fetch(`${s.url}/health`)).status, 200, '/health answers while the pull waits');
      const answer = await pulling;
      assert.equal(answer.status, 502);
      assert.match(await answer.text(), /no response .* within 1000 ms/);
    } finally {
      hub.reset();
    }
  });

  test('error text never tells whether a path exists on the server, and paths are not echoed in /health', async () => {
    const exists = await post('/api/embed', { model: 'etc/passwd', input: 'x' });
    const absent = await post('/api/embed', { model: 'etc/no-such-file-here', input: 'x' });
    assert.equal(exists.status, 404);
    assert.equal(absent.status, 404);
    const text = (r: string, name: string) => r.replace(name, '<name>');
    assert.equal(text(await exists.text(), 'etc/passwd'), text(await absent.text(), 'etc/no-such-file-here'));
    // Absolute paths reach the "file paths are not accepted" answer, whether or not the file is there.
    const absoluteExists = await post('/api/embed', { model: '/etc/passwd', input: 'x' });
    const absoluteAbsent = await post('/api/embed', { model: '/etc/no-such-file-here', input: 'x' });
    assert.deepEqual([absoluteExists.status, absoluteAbsent.status], [404, 404]);
    const said = await absoluteExists.text();
    assert.match(said, /file paths are not accepted/);
    assert.equal(text(said, '/etc/passwd'), text(await absoluteAbsent.text(), '/etc/no-such-file-here'));
    const health = await (await fetch(`${s.url}/health`)).text();
    assert.ok(!health.includes(s.fixtures.dir), 'no fixture path in /health');
  });
});
