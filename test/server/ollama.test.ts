/**
 * The Ollama-compatible API (/api/*), driven through the official `ollama` npm SDK against a real
 * in-process server: generated fixture models (tiny-llama, tiny-bert), the TinyStories model when
 * HEARTH_TEST_MODEL is set, and a fake Hugging Face hub for pull and delete.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Ollama, type ModelResponse, type ProgressResponse } from 'ollama';
import { startFakeHub, type FakeHub } from '../support/fake-hub.js';
import { cosine } from '../support/assertions.js';
import { writeBertFixture } from '../support/gguf-fixtures.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

const PULLED = 'hf:acme/pulled/m.gguf';
/** The name hearth lists the pulled model under (a GGUF file is named after its file). */
const PULLED_NAME = 'm:latest';
const HEX64 = /^[0-9a-f]{64}$/;
const FIVE_MINUTES = 5 * 60_000;
const noStories = process.env.HEARTH_TEST_MODEL ? false : 'HEARTH_TEST_MODEL is not set';

/** The SDK's ResponseError is not exported, so it is recognised by name and status_code. */
interface SdkResponseError {
  name: string;
  error: string;
  status_code: number;
}

async function rejectsWithStatus(promise: Promise<unknown>, status: number): Promise<SdkResponseError> {
  let caught: unknown;
  await assert.rejects(promise, (error: unknown) => {
    caught = error;
    return true;
  });
  const error = caught as Partial<SdkResponseError>;
  assert.equal(error.name, 'ResponseError', `expected the SDK's ResponseError, got ${String(caught)}`);
  assert.equal(error.status_code, status, `expected HTTP ${status}, got ${String(error.status_code)}: ${String(error.error)}`);
  assert.equal(typeof error.error, 'string');
  return error as SdkResponseError;
}

function norm(v: readonly number[]): number {
  return Math.sqrt(v.reduce((s, x) => s + x * x, 0));
}

function assertPositiveInteger(value: unknown, field: string): void {
  assert.ok(Number.isInteger(value) && (value as number) > 0, `${field} should be a positive integer (ns), got ${String(value)}`);
}

async function collect<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const parts: T[] = [];
  for await (const part of stream) parts.push(part);
  return parts;
}

/** expires_at is typed as a Date by the SDK but arrives as an ISO string. */
function expiresAt(entry: ModelResponse): number {
  const time = Date.parse(String(entry.expires_at));
  assert.ok(Number.isFinite(time), `expires_at is not a date: ${String(entry.expires_at)}`);
  return time;
}

describe('Ollama API via the ollama SDK', () => {
  let hub: FakeHub;
  let server: TestServer;
  let client: Ollama;
  let pulledBytes: Buffer;

  const running = async (name: string) => (await client.ps()).models.find((m) => m.name === name);
  const unload = async (model: string) => {
    const r = await client.generate({ model, prompt: '', keep_alive: 0 });
    assert.equal(r.done_reason, 'unload');
  };

  before(async () => {
    hub = await startFakeHub();
    const dir = await mkdtemp(join(tmpdir(), 'hearth-ollama-test-'));
    try {
      await writeBertFixture(join(dir, 'm.gguf'), { seed: 7, context: 128 });
      pulledBytes = await readFile(join(dir, 'm.gguf'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    hub.addRepo({ id: 'acme/pulled', files: [{ path: 'm.gguf', content: pulledBytes }] });
    server = await startTestServer({ endpoint: hub.url });
    client = new Ollama({ host: server.url });
  });

  after(async () => {
    await server?.close();
    await hub?.close();
  });

  // Runs first on purpose: the server is fresh, so no model has been used by name yet.
  test('GET /api/tags lists the configured models before anything has used them', async () => {
    const names = (await client.list()).models.map((m) => m.name);
    assert.ok(names.includes('tiny-llama'), `tiny-llama missing from /api/tags on a fresh server: ${JSON.stringify(names)}`);
    assert.ok(names.includes('tiny-bert'), `tiny-bert missing from /api/tags on a fresh server: ${JSON.stringify(names)}`);
  });

  describe('embeddings', () => {
    test('embed returns one unit-norm vector per input, the same vector for the same text', async () => {
      const r = await client.embed({ model: 'tiny-bert', input: ['a b', 'the cat', 'the cat'] });
      assert.equal(r.model, 'tiny-bert');
      assert.equal(r.embeddings.length, 3);
      for (const v of r.embeddings) {
        assert.equal(v.length, 64);
        assert.ok(Math.abs(norm(v) - 1) < 1e-4, `norm ${norm(v)}`);
      }
      const [ab, cat, catAgain] = r.embeddings as [number[], number[], number[]];
      assert.ok(cosine(ab, cat) < 0.999, 'different texts should embed differently');
      assert.deepEqual(catAgain, cat);
      assert.ok(r.prompt_eval_count > 0);

      const single = await client.embed({ model: 'tiny-bert', input: 'the cat' });
      assert.equal(single.embeddings.length, 1);
      assert.deepEqual(single.embeddings[0], cat, 'a separate request for the same text gives the same vector');
    });

    test('the legacy embeddings endpoint agrees with embed', async () => {
      const [modern] = (await client.embed({ model: 'tiny-bert', input: 'the cat' })).embeddings;
      const legacy = await client.embeddings({ model: 'tiny-bert', prompt: 'the cat' });
      assert.ok(modern);
      assert.equal(legacy.embedding.length, 64);
      assert.ok(legacy.embedding.every((x) => typeof x === 'number' && Number.isFinite(x)));
      assert.ok(cosine(legacy.embedding, modern) >= 0.99999, `cosine ${cosine(legacy.embedding, modern)}`);
    });

    test('over-long input is truncated by default, and refused with truncate: false', async () => {
      const long = 'the cat sat on the mat '.repeat(60); // several hundred tokens; tiny-bert's context is 128
      const truncated = await client.embed({ model: 'tiny-bert', input: long });
      assert.equal(truncated.embeddings.length, 1);
      assert.equal(truncated.embeddings[0]?.length, 64);
      assert.ok(truncated.prompt_eval_count > 0 && truncated.prompt_eval_count <= 128, `prompt_eval_count ${truncated.prompt_eval_count}`);

      const legacy = await client.embeddings({ model: 'tiny-bert', prompt: long });
      assert.equal(legacy.embedding.length, 64);

      const error = await rejectsWithStatus(client.embed({ model: 'tiny-bert', input: long, truncate: false }), 400);
      assert.match(error.error, /context/i);
      assert.match(error.error, /token/i);
    });
  });

  describe('generate', () => {
    test('non-streaming: text, done_reason length, counts and ns durations', async () => {
      const r = await client.generate({ model: 'tiny-llama', prompt: 'hi', options: { num_predict: 6, temperature: 0 } });
      assert.equal(r.model, 'tiny-llama');
      assert.ok(typeof r.response === 'string' && r.response.length > 0, 'response is empty');
      assert.equal(r.done, true);
      assert.equal(r.done_reason, 'length');
      assert.equal(r.eval_count, 6);
      assert.ok(r.prompt_eval_count > 0);
      for (const field of ['total_duration', 'load_duration', 'prompt_eval_duration', 'eval_duration'] as const) assertPositiveInteger(r[field], field);
      assert.ok(r.total_duration >= r.load_duration + r.eval_duration, 'total_duration covers load and eval');
      assert.ok(Number.isFinite(Date.parse(String(r.created_at))));
    });

    test('streaming: parts accumulate the text and the last one carries the totals', async () => {
      const request = { model: 'tiny-llama', prompt: 'hi', options: { num_predict: 6, temperature: 0 } };
      const whole = await client.generate(request);
      const parts = await collect(await client.generate({ ...request, stream: true }));
      const last = parts.at(-1);
      assert.ok(last);
      assert.ok(parts.slice(0, -1).every((p) => p.done === false), 'only the last part is done');
      assert.ok(parts.filter((p) => p.response).length >= 2, `expected the text in several parts, got ${parts.length} parts`);
      assert.equal(last.done, true);
      assert.equal(last.done_reason, 'length');
      assert.equal(last.eval_count, 6);
      assert.ok(last.prompt_eval_count > 0);
      assertPositiveInteger(last.total_duration, 'total_duration');
      const text = parts.map((p) => p.response ?? '').join('');
      assert.ok(text.length > 0);
      assert.equal(text, whole.response, 'greedy streaming and non-streaming runs produce the same text');
    });

    test('stories: a raw prompt continues the story', { skip: noStories }, async () => {
      const r = await client.generate({ model: 'stories', prompt: 'Once upon a time', raw: true, options: { num_predict: 30, temperature: 0 } });
      assert.match(r.response ?? '', /Lily|girl/, r.response);
    });

    test('stories: options.stop ends the text before the stop word', { skip: noStories }, async () => {
      const base = { model: 'stories', prompt: 'Once upon a time', raw: true } as const;
      const full = await client.generate({ ...base, options: { num_predict: 30, temperature: 0 } });
      assert.ok(full.response?.includes('Lily'), `the unstopped story should mention Lily: ${full.response}`);
      const r = await client.generate({ ...base, options: { num_predict: 30, temperature: 0, stop: ['Lily'] } });
      const text = r.response ?? '';
      assert.ok(!text.includes('Lily'), text);
      assert.ok(text.length > 0, 'text before the stop word is kept');
      assert.ok(full.response?.startsWith(text), `stopped text ${JSON.stringify(text)} is not a prefix of ${JSON.stringify(full.response)}`);
      assert.equal(r.done_reason, 'stop');
      assert.ok(r.eval_count < 30, `eval_count ${r.eval_count}`);
    });
  });

  describe('chat', () => {
    test('non-streaming: an assistant message of num_predict tokens', async () => {
      const r = await client.chat({ model: 'tiny-llama', messages: [{ role: 'user', content: 'hello' }], options: { num_predict: 5 } });
      assert.equal(r.model, 'tiny-llama');
      assert.equal(r.message.role, 'assistant');
      assert.ok(r.message.content.length > 0, 'content is empty');
      assert.equal(r.done, true);
      assert.equal(r.done_reason, 'length');
      assert.equal(r.eval_count, 5);
      assert.ok(r.prompt_eval_count > 0);
    });

    test('streaming: assistant parts, then a done part with the counts', async () => {
      const stream = await client.chat({ model: 'tiny-llama', messages: [{ role: 'user', content: 'hello' }], options: { num_predict: 5 }, stream: true });
      const parts = await collect(stream);
      const last = parts.at(-1);
      assert.ok(last);
      assert.ok(parts.length >= 2, `only ${parts.length} parts`);
      assert.ok(parts.every((p) => p.message.role === 'assistant'));
      assert.ok(parts.slice(0, -1).every((p) => p.done === false), 'only the last part is done');
      assert.ok(parts.map((p) => p.message.content).join('').length > 0);
      assert.equal(last.done, true);
      assert.equal(last.done_reason, 'length');
      assert.equal(last.eval_count, 5);
    });
  });

  describe('keep_alive', () => {
    test('an empty prompt loads the model for the default 5 minutes; keep_alive 0 unloads it', async () => {
      await unload('tiny-llama');
      assert.equal(await running('tiny-llama'), undefined, 'not loaded at the start');

      const loaded = await client.generate({ model: 'tiny-llama', prompt: '' });
      assert.equal(loaded.done, true);
      assert.equal(loaded.done_reason, 'load');
      assert.equal(loaded.response, '');
      const entry = await running('tiny-llama');
      assert.ok(entry, 'ps lists the loaded model');
      const ahead = expiresAt(entry) - Date.now();
      assert.ok(ahead > FIVE_MINUTES - 30_000 && ahead <= FIVE_MINUTES + 1000, `expires in ${ahead} ms`);

      const unloaded = await client.generate({ model: 'tiny-llama', prompt: '', keep_alive: 0 });
      assert.equal(unloaded.done, true);
      assert.equal(unloaded.done_reason, 'unload');
      assert.equal(await running('tiny-llama'), undefined, 'ps no longer lists it');
    });

    test('keep_alive -1 never expires; a duration string sets the expiry', async () => {
      try {
        assert.equal((await client.generate({ model: 'tiny-llama', prompt: '', keep_alive: -1 })).done_reason, 'load');
        const forever = await running('tiny-llama');
        assert.ok(forever);
        assert.ok(new Date(expiresAt(forever)).getUTCFullYear() > 2100, `expires_at ${String(forever.expires_at)}`);

        await client.generate({ model: 'tiny-llama', prompt: '', keep_alive: '10m' });
        const tenMinutes = await running('tiny-llama');
        assert.ok(tenMinutes);
        const ahead = expiresAt(tenMinutes) - Date.now();
        assert.ok(ahead > 10 * 60_000 - 30_000 && ahead <= 10 * 60_000 + 1000, `expires in ${ahead} ms`);
      } finally {
        await unload('tiny-llama');
      }
    });

    test('chat with no messages loads the model', async () => {
      await unload('tiny-llama');
      const r = await client.chat({ model: 'tiny-llama', messages: [] });
      assert.equal(r.done, true);
      assert.equal(r.done_reason, 'load');
      assert.deepEqual(r.message, { role: 'assistant', content: '' });
      assert.ok(await running('tiny-llama'), 'ps lists the model chat loaded');
    });
  });

  describe('model management', () => {
    test('ps describes each running model', async () => {
      await client.generate({ model: 'tiny-llama', prompt: '' });
      await client.embed({ model: 'tiny-bert', input: 'x' });
      const { models } = await client.ps();
      for (const [name, family] of [['tiny-llama', 'llama'], ['tiny-bert', 'bert']] as const) {
        const m = models.find((e) => e.name === name);
        assert.ok(m, `${name} missing from ps: ${JSON.stringify(models.map((e) => e.name))}`);
        assert.equal(m.model, name);
        assert.ok(m.size > 0, `${name} size ${m.size}`);
        assert.match(m.digest, HEX64);
        assert.equal(m.details.family, family);
        assert.ok(expiresAt(m) > Date.now(), `${name} expires_at ${String(m.expires_at)} is not in the future`);
      }
    });

    test('list shows the models with their file size and digest', async () => {
      await client.embed({ model: 'tiny-bert', input: 'x' });
      await client.generate({ model: 'tiny-llama', prompt: '' });
      const [{ models }, ps] = await Promise.all([client.list(), client.ps()]);
      for (const [name, file] of [['tiny-llama', server.fixtures.llama], ['tiny-bert', server.fixtures.bert]] as const) {
        const m = models.find((e) => e.name === name);
        assert.ok(m, `${name} missing from /api/tags: ${JSON.stringify(models.map((e) => e.name))}`);
        assert.equal(m.size, (await stat(file)).size, `${name} size is its file size`);
        assert.match(m.digest, HEX64);
        assert.equal(m.digest, ps.models.find((e) => e.name === name)?.digest, `${name} has the same digest in tags and ps`);
        assert.equal(m.details.family, name === 'tiny-llama' ? 'llama' : 'bert', `${name} family comes from the GGUF`);
        assert.equal(m.details.format, 'gguf');
      }
    });

    test('show reports family, architecture and capabilities', async () => {
      const bert = await client.show({ model: 'tiny-bert' });
      const bertInfo = bert.model_info as unknown as Record<string, unknown>;
      assert.equal(bert.details.family, 'bert');
      assert.equal(bertInfo['general.architecture'], 'bert');
      assert.equal(bertInfo['bert.context_length'], 128);
      assert.ok(bert.capabilities.includes('embedding'), `capabilities ${JSON.stringify(bert.capabilities)}`);
      assert.ok(!bert.capabilities.includes('completion'), `capabilities ${JSON.stringify(bert.capabilities)}`);

      const llama = await client.show({ model: 'tiny-llama' });
      assert.equal(llama.details.family, 'llama');
      assert.equal((llama.model_info as unknown as Record<string, unknown>)['general.architecture'], 'llama');
      assert.ok(llama.capabilities.includes('completion'), `capabilities ${JSON.stringify(llama.capabilities)}`);
    });
  });

  describe('pull and delete against a fake hub', () => {
    test('a streaming pull reports byte progress and ends with success', async () => {
      const parts = await collect<ProgressResponse>(await client.pull({ model: PULLED, stream: true }));
      assert.equal(parts.at(-1)?.status, 'success');
      const progress = parts.filter((p) => p.total !== undefined);
      assert.ok(progress.length > 0, `no byte progress in ${JSON.stringify(parts)}`);
      let previous = 0;
      for (const p of progress) {
        assert.equal(p.total, pulledBytes.length, 'total is the file size');
        assert.ok(p.completed >= previous && p.completed <= p.total, `completed ${p.completed} of ${p.total} after ${previous}`);
        previous = p.completed;
        assert.equal(p.digest, `sha256:${createHash('sha256').update(pulledBytes).digest('hex')}`);
      }
      assert.equal(previous, pulledBytes.length, 'progress reaches the total');
    });

    test('the pulled model serves embeddings', async () => {
      const r = await client.embed({ model: PULLED, input: 'x' });
      assert.equal(r.embeddings.length, 1);
      assert.equal(r.embeddings[0]?.length, 64);
      assert.ok((await client.list()).models.some((m) => m.name === PULLED_NAME), 'list shows the pulled model by its name');
      // The listed name is a model name like any other.
      const byName = await client.embed({ model: PULLED_NAME, input: 'x' });
      assert.deepEqual(byName.embeddings, r.embeddings);
    });

    test('pulling a cached model again succeeds without downloading', async () => {
      hub.resetStats();
      const r = await client.pull({ model: PULLED });
      assert.deepEqual(r, { status: 'success' });
      assert.equal(hub.stats.bodyGets, 0, 'no file bytes fetched again');
    });

    test('pulling a model the hub does not have fails', async () => {
      const error = await rejectsWithStatus(client.pull({ model: 'hf:acme/missing/x.gguf' }), 404);
      assert.match(error.error, /acme\/missing/);
      // Streaming: the failure arrives inside the stream, which the SDK turns into a thrown Error.
      await assert.rejects(collect(await client.pull({ model: 'hf:acme/missing/x.gguf', stream: true })), /not found/);
    });

    test('delete removes the model: gone from list and ps, then 404', async () => {
      assert.deepEqual(await client.delete({ model: PULLED }), { status: 'success' });
      assert.ok(!(await client.list()).models.some((m) => m.name === PULLED_NAME), 'list no longer shows it');
      assert.equal(await running(PULLED_NAME), undefined, 'ps no longer shows it');
      const error = await rejectsWithStatus(client.embed({ model: PULLED, input: 'x' }), 404);
      assert.ok(error.error.includes(PULLED), error.error);
      await rejectsWithStatus(client.delete({ model: PULLED }), 404);
    });
  });

  describe('version and errors', () => {
    test('GET /api/version', async () => {
      const { version } = await client.version();
      assert.equal(typeof version, 'string');
      assert.match(version, /^\d+\.\d+\.\d+/);
    });

    test('chat with an unknown model is a 404 naming the model, streaming or not', async () => {
      const messages = [{ role: 'user', content: 'hi' }];
      const plain = await rejectsWithStatus(client.chat({ model: 'no-such-model', messages }), 404);
      assert.ok(plain.error.includes('no-such-model'), plain.error);
      const streamed = await rejectsWithStatus(client.chat({ model: 'no-such-model', messages, stream: true }), 404);
      assert.ok(streamed.error.includes('no-such-model'), streamed.error);
    });

    // Ollama answers 404 for any model it does not have; /api/chat and /api/embed here do too, for any name.
    test('show of an unknown model is a 404 naming the model', async () => {
      for (const model of ['hf:acme/never/x.gguf', 'no-such-model']) {
        const error = await rejectsWithStatus(client.show({ model }), 404);
        assert.ok(error.error.includes(model), error.error);
      }
    });

    test('delete of an unknown model is a 404 naming the model', async () => {
      for (const model of ['hf:acme/never/x.gguf', 'no-such-model']) {
        const error = await rejectsWithStatus(client.delete({ model }), 404);
        assert.ok(error.error.includes(model), error.error);
      }
    });

    test("errors use Ollama's {error: string} body", async () => {
      const post = (body: unknown) => fetch(`${server.url}/api/embed`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const missing = await post({ model: 'nope', input: 'x' });
      assert.equal(missing.status, 404);
      assert.match(missing.headers.get('content-type') ?? '', /^application\/json/);
      const body = (await missing.json()) as Record<string, unknown>;
      assert.deepEqual(Object.keys(body), ['error']);
      assert.equal(typeof body.error, 'string');
      assert.match(body.error as string, /nope/);

      const invalid = await post({ input: 'x' });
      assert.equal(invalid.status, 400);
      const invalidBody = (await invalid.json()) as Record<string, unknown>;
      assert.deepEqual(Object.keys(invalidBody), ['error']);
      assert.match(String(invalidBody.error), /model/);
    });
  });
});
