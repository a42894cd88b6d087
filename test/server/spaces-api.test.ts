/**
 * Embedding spaces over HTTP: /v1/spaces, and embedding requests that name a
 * space ("space:<name>") through the official `openai` and `ollama` SDKs.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { assertSame } from '../support/assertions.js';
import { captureLogger } from '../support/capture-logger.js';
import { silentLogger } from '../../src/log/logger.js';
import { createSpaces } from '../../src/spaces/index.js';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { GENEROUS_MS } from '../support/wait.js';

interface Summary {
  object: string;
  name: string;
  model: { ref: string; dimensions: number; pooling: string };
  runtime: { engine: string };
  fingerprints: { model: string; runtime: string; probes: string };
  probes: number;
}

describe('embedding spaces over HTTP', { timeout: 4 * GENEROUS_MS }, () => {
  let server: TestServer;
  let openai: OpenAI;
  let ollama: Ollama;
  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  before(async () => {
    server = await startTestServer();
    openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: GENEROUS_MS });
    ollama = new Ollama({ host: server.url });
  });
  after(() => server?.close());

  test('POST /v1/spaces makes a space; it is listed and shown without its vectors', async () => {
    const created = await api('POST', '/v1/spaces', { name: 'notes', model: 'tiny-bert' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const summary = created.body as unknown as Summary;
    assert.equal(summary.name, 'notes');
    assert.equal(summary.model.dimensions, 64);
    assert.equal(summary.runtime.engine, 'llama.cpp');
    assert.equal(summary.probes, 48);
    assert.equal('probeVectors' in summary, false);

    const listed = await api('GET', '/v1/spaces');
    assert.deepEqual((listed.body.data as Summary[]).map((s) => s.name), ['notes']);
    const shown = await api('GET', '/v1/spaces/notes');
    assert.deepEqual(shown.body.fingerprints, summary.fingerprints);

    const check = await api('POST', '/v1/spaces/notes/check');
    assert.equal(check.status, 200);
    assert.equal(check.body.verdict, 'identical');
    assert.deepEqual(check.body.diff, []);

    const other = await api('POST', '/v1/spaces/notes/check', { model: 'tiny-bert-cls' });
    assert.equal(other.body.verdict, 'incompatible');
    assert.ok((other.body.diff as Array<{ field: string }>).some((d) => d.field === 'model.pooling'));

    const taken = await api('POST', '/v1/spaces', { name: 'notes', model: 'tiny-bert' });
    assert.equal(taken.body.error !== undefined, true);
    assert.equal(taken.status, 409);
    assert.equal((taken.body.error as { code: string }).code, 'space_exists');
  });

  test('an embedding request may name a space: the same vectors as the model, with the verdict in a header', async () => {
    await api('POST', '/v1/spaces', { name: 'served', model: 'tiny-bert' });
    const texts = ['the cat sat on the mat', 'stock markets fell'];
    const plain = await openai.embeddings.create({ model: 'tiny-bert', input: texts });
    const { data, response } = await openai.embeddings.create({ model: 'space:served', input: texts }).withResponse();
    assert.equal(response.headers.get('x-hearth-space'), 'served');
    assert.equal(response.headers.get('x-hearth-space-verdict'), 'identical');
    data.data.forEach((item, i) => assertSame(item.embedding, plain.data[i]!.embedding, `openai ${i}`));

    const viaOllama = await ollama.embed({ model: 'space:served', input: texts });
    viaOllama.embeddings.forEach((vector, i) => assertSame(vector, plain.data[i]!.embedding, `ollama ${i}`));
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /hearth_http_requests_total\{route="\/v1\/embeddings",[^}]*model="space:served"\} 1/);
    assert.match(metrics, /hearth_http_requests_total\{route="\/api\/embed",[^}]*model="space:served"\} 1/);
  });

  test('a space whose model no longer matches is refused with SPACE_MISMATCH (409), verdict and diff included, before any vector is made', async () => {
    await api('POST', '/v1/spaces', { name: 'moved', model: 'tiny-bert' });
    // The record's ref says where to find the model; pointing it at another file is what a changed deployment looks like.
    const path = join(server.config.home, 'spaces', 'moved.json');
    const record = JSON.parse(await readFile(path, 'utf8')) as { model: { ref: string } };
    record.model.ref = server.fixtures.bertCls;
    await writeFile(path, JSON.stringify(record));

    const refused = await openai.embeddings.create({ model: 'space:moved', input: 'hello' }).catch((e: unknown) => e);
    assert.ok(refused instanceof OpenAI.APIError, String(refused));
    assert.equal(refused.status, 409);
    assert.equal(refused.code, 'space_mismatch');
    const details = (refused.error as { details: { verdict: string; diff: Array<{ field: string }> } }).details;
    assert.equal(details.verdict, 'incompatible');
    assert.ok(details.diff.some((d) => d.field === 'model.pooling'), JSON.stringify(details.diff));

    const ollamaRefused = await ollama.embed({ model: 'space:moved', input: 'hello' }).catch((e: unknown) => e);
    assert.match(String(ollamaRefused), /space "moved" cannot use/);
  });

  test('an unknown space is 404, a name that is not a safe identifier 400, a dimensions request the space cannot hold 400', async () => {
    const missing = await openai.embeddings.create({ model: 'space:nowhere', input: 'x' }).catch((e: unknown) => e);
    assert.ok(missing instanceof OpenAI.APIError);
    assert.equal(missing.status, 404);
    assert.equal(missing.code, 'space_not_found');
    assert.equal((await api('GET', '/v1/spaces/nowhere')).status, 404);

    const bad = await openai.embeddings.create({ model: 'space:../etc', input: 'x' }).catch((e: unknown) => e);
    assert.ok(bad instanceof OpenAI.APIError);
    assert.equal(bad.status, 400);
    assert.equal(bad.code, 'space_name_invalid');
    assert.equal((await api('POST', '/v1/spaces', { name: 'no/slashes', model: 'tiny-bert' })).status, 400);
    assert.equal((await api('GET', '/v1/spaces/.hidden')).status, 400);

    await api('POST', '/v1/spaces', { name: 'dims', model: 'tiny-bert' });
    const wrong = await openai.embeddings.create({ model: 'space:dims', input: 'x', dimensions: 32 }).catch((e: unknown) => e);
    assert.ok(wrong instanceof OpenAI.APIError);
    assert.equal(wrong.status, 400);
    assert.match(wrong.message, /64-dimensional/);
  });

  test('DELETE /v1/spaces/{name} removes it', async () => {
    await api('POST', '/v1/spaces', { name: 'gone', model: 'tiny-bert' });
    assert.equal((await api('DELETE', '/v1/spaces/gone')).status, 200);
    assert.equal((await api('GET', '/v1/spaces/gone')).status, 404);
    assert.equal((await api('DELETE', '/v1/spaces/gone')).status, 404);
  });
});

describe('spaces over a preloaded model', { timeout: 4 * GENEROUS_MS }, () => {
  test('are checked when the preloads are warm, so the first request naming one finds its verdict cached', async () => {
    const { logger, records } = captureLogger('info');
    const s = await startTestServer({ env: { HEARTH_PRELOAD: 'tiny-bert' }, logger });
    try {
      // Made before this server ran (by `hearth space create`): the server has no verdict for it yet.
      await createSpaces({ home: s.config.home, logger: silentLogger, acquire: (ref, options) => s.pool.acquire(ref, options) }).create('warm', 'tiny-bert');
      await s.server.warm();
      const checked = () => records.filter((r) => r.msg === 'embedding space checked').length;
      assert.equal(checked(), 1, 'checked once, at warm-up');
      assert.ok(records.some((r) => r.msg === 'embedding space ready' && r.space === 'warm' && r.verdict === 'identical'));
      const response = await fetch(`${s.url}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'space:warm', input: 'hi' }) });
      assert.equal(response.status, 200);
      assert.equal(response.headers.get('x-hearth-space-verdict'), 'identical');
      assert.equal(checked(), 1, 'the request used the cached verdict');
    } finally {
      await s.close();
    }
  });
});
