import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from '../support/test-server.js';

/** The jobs API: POST /v1/jobs, GET /v1/jobs/{id}, its SSE events, and DELETE, on the in-process executor. */

const srt = (n: number) => Array.from({ length: n }, (_, i) => `${i + 1}\n00:${String(Math.floor(i / 30)).padStart(2, '0')}:${String((i * 2) % 60).padStart(2, '0')},000 --> 00:${String(Math.floor(i / 30)).padStart(2, '0')}:${String((i * 2) % 60).padStart(2, '0')},900\nPart ${i}: a boat sails on the sea.\n`).join('\n');

interface Job {
  id: string;
  object: string;
  state: string;
  progress: { done: number; total: number };
  result?: { segments: number; chunks: number; title?: { text: string } };
  error?: { code: string; message: string };
}

describe('jobs API', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${s.url}${path}`, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
    return { status: res.status, body: (await res.json()) as Job & { error?: { message: string } } };
  };
  const events = async (id: string): Promise<Job[]> => {
    const res = await fetch(`${s.url}/v1/jobs/${id}/events`);
    assert.equal(res.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const text = await res.text();
    return text
      .split('\n\n')
      .filter((e) => e.startsWith('data: ') && e !== 'data: [DONE]')
      .map((e) => JSON.parse(e.slice(6)) as Job);
  };

  test('an enrichment is queued with an id, streams its progress to the end, and keeps its result', async () => {
    const created = await call('POST', '/v1/jobs', { type: 'enrich', model: 'tiny-llama', transcript: srt(10), tasks: 'title,keywords', chunk_tokens: 40 });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    assert.equal(created.body.object, 'job');
    assert.ok(created.body.progress.total >= 2);
    const seen = await events(created.body.id);
    const last = seen.at(-1)!;
    assert.equal(last.state, 'completed', JSON.stringify(last.error));
    assert.deepEqual(last.progress, { done: created.body.progress.total, total: created.body.progress.total });
    const done = seen.map((e) => e.progress.done);
    assert.deepEqual(done, [...done].sort((a, b) => a - b));
    const got = await call('GET', `/v1/jobs/${created.body.id}`);
    assert.equal(got.status, 200);
    assert.equal(got.body.result?.segments, 10);
    assert.equal(typeof got.body.result?.title?.text, 'string');
    const again = await call('DELETE', `/v1/jobs/${created.body.id}`);
    assert.equal(again.status, 400);
    assert.match(again.body.error!.message, /already ended \(completed\)/);
  });

  test('DELETE cancels a job that is still running', async () => {
    // The first job's chunks take every slot before the second is queued, so the second cannot end before it is cancelled.
    const ahead = await call('POST', '/v1/jobs', { type: 'enrich', model: 'tiny-llama', transcript: srt(120), tasks: ['clean', 'summary'], chunk_tokens: 40 });
    assert.equal(ahead.status, 202);
    const created = await call('POST', '/v1/jobs', { type: 'enrich', model: 'tiny-llama', transcript: srt(4), tasks: ['title'], chunk_tokens: 40 });
    assert.equal(created.status, 202);
    const cancelled = await call('DELETE', `/v1/jobs/${created.body.id}`);
    assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
    assert.equal(cancelled.body.state, 'cancelled');
    assert.equal((await events(created.body.id)).at(-1)!.state, 'cancelled');
    const cleanup = await call('DELETE', `/v1/jobs/${ahead.body.id}`);
    assert.ok(cleanup.status === 200 || /already ended/.test(cleanup.body.error?.message ?? ''), JSON.stringify(cleanup.body));
  });

  test('bad input is refused before anything is queued', async () => {
    const cases: Array<[unknown, number, RegExp]> = [
      [{ type: 'enrich', model: 'tiny-llama', transcript: '1\n00:00:01,000 --> 00:00:02,000\nok\n\n2\nnope\nx\n', tasks: 'title' }, 400, /SubRip transcript does not parse at line 6/],
      [{ type: 'enrich', model: 'no-such-model', transcript: 'hello', tasks: 'title' }, 404, /no-such-model/],
      [{ type: 'enrich', model: '/etc/passwd', transcript: 'hello', tasks: 'title' }, 404, /not found/],
      [{ type: 'enrich', model: 'tiny-bert', transcript: 'hello', tasks: 'title' }, 400, /embedding model/],
      [{ type: 'enrich', model: 'tiny-llama', transcript: 'hello', tasks: 'titel' }, 400, /"titel" is not a task/],
      [{ type: 'transcode', model: 'tiny-llama' }, 400, /type/],
      [{ type: 'enrich', model: 'tiny-llama', tasks: 'title' }, 400, /transcript/],
    ];
    for (const [body, code, message] of cases) {
      const res = await call('POST', '/v1/jobs', body);
      assert.equal(res.status, code, `${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
      assert.match(res.body.error!.message, message, JSON.stringify(body));
    }
    assert.equal((await call('GET', '/v1/jobs/00000000-0000-4000-8000-000000000000')).status, 404);
    assert.equal((await call('DELETE', '/v1/jobs/nope')).status, 404);
  });
});
