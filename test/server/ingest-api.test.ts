import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from '../support/test-server.js';

interface Job {
  id: string;
  state: string;
  progress: { done: number; total: number };
  result?: { files: number; documents: number; added: number; chunks: number; deadLetters: number; gate: { documents: number } | null };
  error?: { code: string; message: string };
}

/**
 * Ingestion over HTTP: POST /v1/jobs with type ingest, reading only under
 * the operator's HEARTH_INGEST_ROOTS; dead letters listed per collection;
 * counters on /metrics.
 */
describe('ingestion API', () => {
  let s: TestServer;
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'hearth-ingest-root-'));
    await mkdir(join(root, 'docs'));
    for (let i = 0; i < 9; i++) await writeFile(join(root, 'docs', `d${i}.md`), `# Note ${i}\n\nThe ${['owl', 'boat', 'lamp'][i % 3]} number ${i} is here.`);
    await writeFile(join(root, 'docs', 'bad.jsonl'), '{"text":"fine"}\nnot json\n');
    await writeFile(join(tmpdir(), 'hearth-outside.txt'), 'not shared');
    s = await startTestServer({ env: { HEARTH_INGEST_ROOTS: root } });
    const created = await call('POST', '/v1/collections', { name: 'kb', model: 'tiny-onnx' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
  });
  after(async () => {
    await s.close();
    await rm(root, { recursive: true, force: true });
  });
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${s.url}${path}`, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
    return { status: res.status, body: (await res.json()) as Job & { error?: { code: string; message: string } } & { data?: Array<{ source: string; reason: string }> } };
  };
  const finish = async (id: string): Promise<Job> => {
    const text = await (await fetch(`${s.url}/v1/jobs/${id}/events`)).text();
    const events = text.split('\n\n').filter((e) => e.startsWith('data: ') && e !== 'data: [DONE]');
    return JSON.parse(events.at(-1)!.slice(6)) as Job;
  };

  test('a folder under the roots is ingested as a job; the unreadable file is a dead letter; /metrics counts both', async () => {
    const created = await call('POST', '/v1/jobs', { type: 'ingest', collection: 'kb', paths: ['docs'], validate: 4, batch_files: 2 });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    assert.equal(created.body.progress.total, 5);
    const last = await finish(created.body.id);
    assert.equal(last.state, 'completed', JSON.stringify(last.error));
    assert.deepEqual({ ...last.result, gate: last.result?.gate?.documents }, { collection: 'kb', files: 10, documents: 9, added: 9, unchanged: 0, chunks: 9, deadLetters: 1, gate: 3 }, 'the gate: the first two units, bad.jsonl (dead), d0.md, d1.md and d2.md');

    const dead = await call('GET', '/v1/collections/kb/dead-letters');
    assert.deepEqual(dead.body.data?.map((d) => d.source), [join(root, 'docs', 'bad.jsonl')]);
    assert.match(dead.body.data![0]!.reason, /^line 2 is not JSON/);

    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    assert.match(metrics, /hearth_ingest_files_total\{collection="kb",outcome="read"\} 9/);
    assert.match(metrics, /hearth_ingest_files_total\{collection="kb",outcome="dead"\} 1/);
    assert.match(metrics, /hearth_ingest_documents_total\{collection="kb",outcome="added"\} 9/);
    assert.match(metrics, /hearth_ingest_chunks_total\{collection="kb"\} 9/);
  });

  test('bad requests are refused before anything is queued: paths outside the roots, an unknown collection, no paths', async () => {
    const cases: Array<[unknown, number, string]> = [
      [{ type: 'ingest', collection: 'kb', paths: [join(tmpdir(), 'hearth-outside.txt')] }, 403, 'path_not_allowed'],
      [{ type: 'ingest', collection: 'kb', paths: ['../hearth-outside.txt'] }, 403, 'path_not_allowed'],
      [{ type: 'ingest', collection: 'absent', paths: ['docs'] }, 404, 'collection_not_found'],
      [{ type: 'ingest', collection: 'kb', paths: [] }, 400, 'usage'],
      [{ type: 'ingest', collection: 'kb', paths: ['docs'], validate: -1 }, 400, 'usage'],
      [{ type: 'ingest', collection: 'kb', paths: ['nothing-here'] }, 400, 'usage'],
    ];
    for (const [body, status, code] of cases) {
      const res = await call('POST', '/v1/jobs', body);
      assert.equal(res.status, status, `${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error?.code, code, JSON.stringify(res.body));
    }
  });
});
