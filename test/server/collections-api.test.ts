/** Vector memory over HTTP: /v1/collections on the embedded engine, with the ONNX fixture model. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from '../support/test-server.js';
import { GENEROUS_MS, waitFor } from '../support/wait.js';

const BODY_LIMIT = 64 * 1024;

describe('collections over HTTP', { timeout: 4 * GENEROUS_MS }, () => {
  let server: TestServer;
  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${server.url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Record<string, any> };
  };

  before(async () => {
    server = await startTestServer({ env: { HEARTH_BODY_LIMIT: String(BODY_LIMIT) } });
  });
  after(() => server?.close());

  test('create, add, query by text and by vector, diagnose, stats, delete documents, drop', async () => {
    const created = await api('POST', '/v1/collections', { name: 'notes', model: 'tiny-onnx' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.space, 'notes');
    const dims = created.body.dimensions as number;
    assert.deepEqual((await api('GET', '/v1/collections')).body.data.map((c: { name: string }) => c.name), ['notes']);

    const added = await api('POST', '/v1/collections/notes/documents', {
      documents: [
        { id: 'cat', text: 'The cat sat on the mat.', metadata: { kind: 'pet', "it's": "'; DROP TABLE hearth_documents; --" } },
        { id: 'rates', text: 'Stock markets fell after the central bank raised interest rates.', metadata: { kind: 'money' } },
      ],
    });
    assert.equal(added.status, 200, JSON.stringify(added.body));
    assert.deepEqual(added.body, { added: 2, unchanged: 0, chunks: 2 });

    const byText = await api('POST', '/v1/collections/notes/query', { text: 'The cat sat on the mat.', top_k: 2 });
    assert.equal(byText.body.data[0].id, 'cat');
    assert.ok(byText.body.data[0].similarity > 0.99);
    const filtered = await api('POST', '/v1/collections/notes/query', { text: 'cat', filter: { "it's": "'; DROP TABLE hearth_documents; --" } });
    assert.deepEqual(filtered.body.data.map((h: { id: string }) => h.id), ['cat'], 'a filter value with SQL in it is matched literally');
    const threshold = await api('POST', '/v1/collections/notes/query', { text: 'The cat sat on the mat.', min_similarity: 0.99 });
    assert.deepEqual(threshold.body.data.map((h: { id: string }) => h.id), ['cat']);

    const vector = new Array(dims).fill(0);
    vector[0] = 1;
    const byVector = await api('POST', '/v1/collections/notes/query', { vector, top_k: 1 });
    assert.equal(byVector.status, 200);
    assert.equal(byVector.body.data.length, 1);

    const diagnosis = await api('POST', '/v1/collections/notes/diagnose', { text: 'cat' });
    assert.equal(diagnosis.body.chunks, 2);
    assert.deepEqual(Object.keys(diagnosis.body.atLeast), ['0.3', '0.5', '0.7', '0.9']);

    const stats = await api('GET', '/v1/collections/notes');
    assert.equal(stats.body.documents, 2);
    assert.equal(stats.body.invalid_vectors, 0);
    assert.equal(stats.body.index, 'exact');
    assert.match(stats.body.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(stats.body.verdict, 'identical');

    assert.deepEqual((await api('DELETE', '/v1/collections/notes/documents', { ids: ['rates', 'none'] })).body, { deleted: 1 });
    assert.equal((await api('GET', '/v1/collections/notes')).body.documents, 1);
    assert.equal((await api('DELETE', '/v1/collections/notes')).status, 200);
    assert.equal((await api('GET', '/v1/collections/notes')).status, 404);
  });

  test('bad input is a typed 4xx and writes nothing', async () => {
    await api('POST', '/v1/collections', { name: 'strict', model: 'tiny-onnx' });
    const dims = (await api('GET', '/v1/collections/strict')).body.dimensions as number;
    const cases: Array<[string, string, string, unknown, number, string]> = [
      ['wrong dimensions', 'POST', '/v1/collections/strict/query', { vector: [1, 2, 3] }, 400, 'vector_invalid'],
      ['a zero vector', 'POST', '/v1/collections/strict/query', { vector: new Array(dims).fill(0) }, 400, 'vector_invalid'],
      ['text and vector', 'POST', '/v1/collections/strict/query', { text: 'a', vector: new Array(dims).fill(1) }, 400, 'usage'],
      ['an empty document', 'POST', '/v1/collections/strict/documents', { documents: [{ text: '  ' }] }, 400, 'usage'],
      ['an unknown collection', 'POST', '/v1/collections/nowhere/query', { text: 'a' }, 404, 'collection_not_found'],
      ['a bad collection name', 'POST', '/v1/collections', { name: '../x', model: 'tiny-onnx' }, 400, 'collection_name_invalid'],
      ['a taken name', 'POST', '/v1/collections', { name: 'strict', space: 'strict' }, 409, 'collection_exists'],
      ['an unknown model', 'POST', '/v1/collections', { name: 'x', model: 'no-such-model' }, 404, 'model_not_found'],
      ['metadata that is not an object', 'POST', '/v1/collections/strict/documents', { documents: [{ text: 'a', metadata: [1] }] }, 400, 'usage'],
    ];
    for (const [what, method, path, body, status, code] of cases) {
      const r = await api(method, path, body);
      assert.equal(r.status, status, `${what}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error.code, code, what);
    }
    assert.equal((await api('GET', '/v1/collections/strict')).body.documents, 0);
  });

  test('a document larger than the body limit is refused (413); one just under it is chunked and stored', async () => {
    await api('POST', '/v1/collections', { name: 'big', model: 'tiny-onnx' });
    const sentence = 'The harbour was quiet and the boats rocked against the pier. ';
    const text = (n: number) => sentence.repeat(Math.ceil(n / sentence.length)).slice(0, n);
    const over = await api('POST', '/v1/collections/big/documents', { documents: [{ id: 'over', text: text(BODY_LIMIT) }] });
    assert.equal(over.status, 413);
    const under = await api('POST', '/v1/collections/big/documents', { documents: [{ id: 'under', text: text(BODY_LIMIT - 200) }] });
    assert.equal(under.status, 200, JSON.stringify(under.body));
    assert.ok(under.body.chunks > 10, `chunked into ${under.body.chunks}`);
  });

  test('documents that bring their own vectors are stored as they are; a bad one refuses the whole request', async () => {
    await api('POST', '/v1/collections', { name: 'imported', model: 'tiny-onnx' });
    const dims = (await api('GET', '/v1/collections/imported')).body.dimensions as number;
    const axis = (i: number) => Array.from({ length: dims }, (_, k) => (k === i ? 1 : 0));
    const bad = await api('POST', '/v1/collections/imported/documents', { documents: [{ id: 'a', text: 'a', vector: axis(0) }, { id: 'b', text: 'b', vector: [1, 2] }] });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'vector_invalid');
    assert.equal((await api('GET', '/v1/collections/imported')).body.documents, 0, 'nothing was written');
    const added = await api('POST', '/v1/collections/imported/documents', { documents: [{ id: 'x', text: 'along x', vector: axis(0) }, { id: 'y', text: 'along y', vector: axis(1), metadata: { k: 1 } }] });
    assert.deepEqual(added.body, { added: 2, unchanged: 0, chunks: 2 });
    const again = await api('POST', '/v1/collections/imported/documents', { documents: [{ id: 'x', text: 'along x', vector: axis(0) }, { id: 'y', text: 'along y', vector: axis(2) }] });
    assert.deepEqual(again.body, { added: 1, unchanged: 1, chunks: 1 }, 'a new vector for the same text is a change');
    const hits = await api('POST', '/v1/collections/imported/query', { vector: axis(2), top_k: 1 });
    assert.equal(hits.body.data[0].id, 'y');
    assert.ok(Math.abs(hits.body.data[0].similarity - 1) < 1e-6);
  });

  test('a migration runs in the background while the old space answers; it is polled, swaps, and gc removes the old vectors', async () => {
    await api('POST', '/v1/collections', { name: 'moving', model: 'tiny-onnx' });
    await api('POST', '/v1/collections/moving/documents', { documents: Array.from({ length: 12 }, (_, i) => ({ id: `d${i}`, text: `Note ${i} about the tide and the gulls.` })) });
    assert.equal((await api('GET', '/v1/collections/moving/migration')).body.status, 'none');
    const started = await api('POST', '/v1/collections/moving/migration', { to: 'tiny-bert' });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    assert.equal(started.body.status, 'running');
    const during = await api('POST', '/v1/collections/moving/query', { text: 'Note 3 about the tide and the gulls.', top_k: 1 });
    assert.equal(during.status, 200, 'queries are answered during the migration');
    const run = await waitFor(
      async () => {
        const polled = (await api('GET', '/v1/collections/moving/migration')).body;
        return polled.status !== 'running' && polled;
      },
      { what: 'the migration to finish', timeoutMs: GENEROUS_MS },
    );
    assert.equal(run.status, 'done', JSON.stringify(run));
    assert.equal(run.report.swapped, true);
    assert.equal(run.report.to, 'moving-2');
    const now = await api('GET', '/v1/collections/moving');
    assert.equal(now.body.space, 'moving-2');
    assert.equal(now.body.documents, 12);
    assert.equal((await api('POST', '/v1/collections/moving/query', { text: 'Note 3 about the tide and the gulls.', top_k: 1 })).body.data[0].id, 'd3');
    const collected = await api('POST', '/v1/collections/gc');
    assert.deepEqual(collected.body.data.map((c: { name: string; space: string }) => [c.name, c.space]), [['moving', 'moving']]);
    const unknown = await api('DELETE', '/v1/collections/moving/migration');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'reembed_not_found');
  });
});
