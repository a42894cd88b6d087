import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GENEROUS_MS, waitFor } from '../support/wait.js';
import OpenAI, { APIError } from 'openai';
import { assertSame, cosine } from '../support/assertions.js';
import { batchStats, startTestServer, type TestServer } from '../support/test-server.js';

/**
 * The OpenAI-compatible API, driven by the official `openai` SDK against one
 * real in-process server with the generated fixture models (and the real
 * TinyStories model when HEARTH_TEST_MODEL is set).
 */

const stories = process.env.HEARTH_TEST_MODEL ? false : 'HEARTH_TEST_MODEL is not set';

function norm(v: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!;
  return Math.sqrt(sum);
}

/** Decodes OpenAI's base64 embedding: little-endian float32s. */
function decodeBase64(text: string): number[] {
  const bytes = Buffer.from(text, 'base64');
  assert.equal(bytes.length % 4, 0, 'base64 payload is a whole number of float32s');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: bytes.length / 4 }, (_, i) => view.getFloat32(i * 4, true));
}

/** The SDK types `embedding` as number[]; with the default (SDK-chosen base64) wire format it decodes to floats. */
function floats(embedding: unknown): number[] {
  assert.ok(Array.isArray(embedding), `embedding is an array of numbers, got ${typeof embedding}`);
  assert.ok(embedding.every((x) => typeof x === 'number' && Number.isFinite(x)), 'every component is a finite number');
  return embedding as number[];
}

async function expectApiError<E extends APIError>(promise: Promise<unknown>, type: new (...args: never[]) => E): Promise<E> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof type, `expected ${type.name}, got ${(error as Error).constructor.name}: ${(error as Error).message}`);
    return error;
  }
  assert.fail(`expected ${type.name}, but the request succeeded`);
}

interface OpenAiErrorBody {
  error: { message: unknown; type: unknown; code: unknown };
}

function assertErrorShape(body: unknown, type: string): OpenAiErrorBody['error'] {
  assert.ok(body && typeof body === 'object' && 'error' in body, `OpenAI error body, got ${JSON.stringify(body)}`);
  const error = (body as OpenAiErrorBody).error;
  assert.equal(typeof error.message, 'string');
  assert.ok((error.message as string).length > 0, 'message is not empty');
  assert.equal(error.type, type);
  assert.equal(typeof error.code, 'string');
  assert.ok((error.code as string).length > 0, 'code is not empty');
  return error;
}

describe('OpenAI-compatible API (openai SDK)', { timeout: 4 * GENEROUS_MS }, () => {
  let server: TestServer;
  let client: OpenAI;

  before(async () => {
    server = await startTestServer();
    // No retries: a retried 5xx or a dropped connection must show up as the failure it is.
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: GENEROUS_MS });
  });
  after(async () => {
    await server?.close();
  });

  describe('embeddings', () => {
    // Without encoding_format the SDK asks for base64 and decodes it itself, so these SDK calls cover base64 too.
    test('one string: a 64-dim unit vector with its token usage', async () => {
      const res = await client.embeddings.create({ model: 'tiny-bert', input: 'the cat sat' });
      assert.equal(res.object, 'list');
      assert.equal(res.model, 'tiny-bert');
      assert.equal(res.data.length, 1);
      assert.equal(res.data[0]!.index, 0);
      assert.equal(res.data[0]!.object, 'embedding');
      const vector = floats(res.data[0]!.embedding);
      assert.equal(vector.length, 64);
      assert.ok(Math.abs(norm(vector) - 1) < 1e-4, `unit norm, got ${norm(vector)}`);
      assert.ok(res.usage.prompt_tokens > 0, `prompt_tokens ${res.usage.prompt_tokens}`);
      assert.equal(res.usage.total_tokens, res.usage.prompt_tokens);
    });

    test('an array of strings: one vector per input, in order, each equal to embedding it alone', async () => {
      const texts = ['the cat sat', 'a brown fox jumps over the lazy dog', 'hello world'];
      const singles: number[][] = [];
      for (const text of texts) singles.push(floats((await client.embeddings.create({ model: 'tiny-bert', input: text })).data[0]!.embedding));
      // The inputs must differ, or matching them up in order proves nothing.
      assert.ok(cosine(singles[0]!, singles[1]!) < 0.999, 'different texts give different vectors');

      const res = await client.embeddings.create({ model: 'tiny-bert', input: texts });
      assert.deepEqual(
        res.data.map((d) => d.index),
        [0, 1, 2],
      );
      res.data.forEach((d, i) => assertSame(floats(d.embedding), singles[i]!, `input ${i}`));
    });

    test('encoding_format base64 on the wire decodes (float32 LE) to the float vector', async () => {
      const post = async (encoding_format: 'float' | 'base64') => {
        const response = await fetch(`${server.url}/v1/embeddings`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'tiny-bert', input: 'the cat sat', encoding_format }),
        });
        assert.equal(response.status, 200);
        return (await response.json()) as { data: Array<{ embedding: unknown }> };
      };
      const asFloat = await post('float');
      const asBase64 = await post('base64');
      const encoded = asBase64.data[0]!.embedding;
      assert.equal(typeof encoded, 'string', 'base64 embedding is a string');
      assert.match(encoded as string, /^[A-Za-z0-9+/]+=*$/);
      const decoded = decodeBase64(encoded as string);
      const expected = floats(asFloat.data[0]!.embedding);
      assert.equal(decoded.length, 64);
      // float32 → JSON → number must round-trip exactly to the same float32s.
      assert.deepEqual(decoded, expected.map((x) => Math.fround(x)));

      // Asked for explicitly, the SDK hands the string through untouched.
      const viaSdk = await client.embeddings.create({ model: 'tiny-bert', input: 'the cat sat', encoding_format: 'base64' });
      assert.equal(viaSdk.data[0]!.embedding as unknown, encoded);
    });

    test('token-id arrays are accepted as input', async () => {
      const nested = await client.embeddings.create({ model: 'tiny-bert', input: [[1, 2, 3]] });
      assert.equal(nested.data.length, 1);
      const vector = floats(nested.data[0]!.embedding);
      assert.equal(vector.length, 64);
      assert.ok(Math.abs(norm(vector) - 1) < 1e-4, `unit norm, got ${norm(vector)}`);
      // Usage counts what is evaluated: llama.cpp prepends [CLS] (id 2 in this vocab), and id 3 is [SEP] already.
      assert.equal(nested.usage.prompt_tokens, 4, 'token input is evaluated as given, with the special tokens it lacks');

      const flat = await client.embeddings.create({ model: 'tiny-bert', input: [1, 2, 3] });
      assert.equal(flat.data.length, 1, 'a flat token array is one input, not three');
      assertSame(floats(flat.data[0]!.embedding), vector, 'flat and nested token input');

      const two = await client.embeddings.create({ model: 'tiny-bert', input: [[1, 2, 3], [7, 8, 9, 10]] });
      assert.equal(two.data.length, 2);
      assertSame(floats(two.data[0]!.embedding), vector, 'first of two token inputs');
      assert.equal(two.usage.prompt_tokens, 4 + 6);
    });

    test('an out-of-vocabulary token id is a 400, not a crash', async () => {
      const error = await expectApiError(client.embeddings.create({ model: 'tiny-bert', input: [[1, 10_000_000, 3]] }), OpenAI.BadRequestError);
      assert.equal(error.status, 400);
      assert.match(error.message, /10000000/);
      assert.match(error.message, /vocabulary/);
      // The server is still alive and embedding.
      const res = await client.embeddings.create({ model: 'tiny-bert', input: 'still alive' });
      assert.equal(res.data.length, 1);
    });

    test('input longer than the context is a 400 naming the token limit', async () => {
      const error = await expectApiError(client.embeddings.create({ model: 'tiny-bert', input: 'word '.repeat(2000) }), OpenAI.BadRequestError);
      assert.equal(error.status, 400);
      assert.equal(error.code, 'input_too_long');
      // tiny-bert has a 128-token context; one position is reserved.
      assert.match(error.message, /at most 127/);
      assert.match(error.message, /tokens/);
    });

    test('an unknown model is a 404', async () => {
      const error = await expectApiError(client.embeddings.create({ model: 'no-such-model', input: 'x' }), OpenAI.NotFoundError);
      assert.equal(error.status, 404);
      assert.match(error.message, /no-such-model/);
    });

    test('64 concurrent requests give the same vectors as one at a time; each GGUF batch is one sequence', async () => {
      const texts = Array.from({ length: 64 }, (_, i) => `text number ${i} about cats`);
      const sequential: number[][] = [];
      for (const text of texts) sequential.push(floats((await client.embeddings.create({ model: 'tiny-bert', input: text })).data[0]!.embedding));
      assert.ok(cosine(sequential[0]!, sequential[63]!) < 0.99999, 'the texts embed differently');

      const before = await batchStats(server);
      const parallel = await Promise.all(texts.map((text) => client.embeddings.create({ model: 'tiny-bert', input: text })));
      const afterwards = await batchStats(server);

      parallel.forEach((res, i) => {
        assert.equal(res.data.length, 1);
        assertSame(floats(res.data[0]!.embedding), sequential[i]!, `text ${i}`);
      });
      // node-llama-cpp's embedding context evaluates one sequence per call, and the metrics say so.
      assert.equal(afterwards.rows - before.rows, 64, 'every input is counted');
      assert.equal(afterwards.batches - before.batches, 64);
      assert.equal(afterwards.padding - before.padding, 0, 'single sequences need no padding');
    });
  });

  describe('chat completions', () => {
    test('non-streaming: runs to max_tokens with consistent usage', async () => {
      const res = await client.chat.completions.create({ model: 'tiny-llama', messages: [{ role: 'user', content: 'hi' }], max_tokens: 8 });
      assert.equal(res.object, 'chat.completion');
      assert.match(res.id, /^chatcmpl-/);
      assert.equal(res.model, 'tiny-llama');
      assert.equal(res.choices.length, 1);
      const choice = res.choices[0]!;
      assert.equal(choice.message.role, 'assistant');
      assert.equal(typeof choice.message.content, 'string');
      assert.ok(choice.message.content!.length > 0, 'content is not empty');
      assert.equal(choice.finish_reason, 'length');
      assert.ok(res.usage, 'usage is reported');
      assert.equal(res.usage.completion_tokens, 8);
      assert.ok(res.usage.prompt_tokens > 0, `prompt_tokens ${res.usage.prompt_tokens}`);
      assert.equal(res.usage.total_tokens, res.usage.prompt_tokens + res.usage.completion_tokens);
    });

    test('streaming: content deltas, a final finish_reason, and a usage chunk', async () => {
      const stream = await client.chat.completions.create({
        model: 'tiny-llama',
        messages: [{ role: 'user', content: 'hi' }],
        max_tokens: 8,
        stream: true,
        stream_options: { include_usage: true },
      });
      const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
      for await (const chunk of stream) chunks.push(chunk);

      assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk'));
      assert.equal(new Set(chunks.map((c) => c.id)).size, 1, 'every chunk carries the same id');
      const withChoices = chunks.filter((c) => c.choices.length > 0);
      const text = withChoices.map((c) => c.choices[0]!.delta.content ?? '').join('');
      assert.ok(text.length > 0, 'streamed text is not empty');
      const finishes = withChoices.map((c) => c.choices[0]!.finish_reason);
      assert.equal(finishes.at(-1), 'length', 'the last choice chunk finishes with length');
      assert.ok(finishes.slice(0, -1).every((f) => f === null), 'only the last choice chunk has a finish_reason');

      const last = chunks.at(-1)!;
      assert.deepEqual(last.choices, [], 'the usage chunk has no choices');
      assert.ok(last.usage, 'the final chunk carries usage');
      assert.equal(last.usage.completion_tokens, 8);
      assert.ok(last.usage.prompt_tokens > 0);
      assert.equal(last.usage.total_tokens, last.usage.prompt_tokens + last.usage.completion_tokens);
      assert.ok(
        chunks.slice(0, -1).every((c) => !c.usage),
        'only the final chunk carries usage',
      );
    });

    test('streaming without include_usage sends no usage chunk', async () => {
      const stream = await client.chat.completions.create({ model: 'tiny-llama', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3, stream: true });
      const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
      for await (const chunk of stream) chunks.push(chunk);
      assert.ok(chunks.length > 0);
      assert.ok(chunks.every((c) => c.choices.length === 1 && !c.usage));
      assert.equal(chunks.at(-1)!.choices[0]!.finish_reason, 'length');
    });

    test('the same seed at temperature 0.8 gives the same text', async () => {
      const ask = async () =>
        (await client.chat.completions.create({ model: 'tiny-llama', messages: [{ role: 'user', content: 'tell me a story' }], max_tokens: 16, temperature: 0.8, seed: 1234 })).choices[0]!
          .message.content;
      const first = await ask();
      const second = await ask();
      assert.ok(first && first.length > 0, 'text is not empty');
      assert.equal(second, first);
    });

    test('an unknown model is a 404', async () => {
      const error = await expectApiError(client.chat.completions.create({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 }), OpenAI.NotFoundError);
      assert.equal(error.status, 404);
    });

    test('a client abort mid-stream frees the sequence', async () => {
      const stream = await client.chat.completions.create({ model: 'tiny-llama', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4096, stream: true });
      let received = 0;
      let aborted = false;
      try {
        for await (const chunk of stream) {
          if (chunk.choices[0]?.delta.content) received++;
          if (received >= 3) {
            stream.controller.abort();
            aborted = true;
            break;
          }
        }
      } catch (error) {
        // Depending on timing the SDK may surface the abort as an error; only an abort is acceptable.
        assert.ok(aborted && error instanceof OpenAI.APIUserAbortError, `unexpected error: ${String(error)}`);
      }
      assert.ok(aborted, `the stream ended by itself after ${received} content chunks`);

      // Every sequence must be usable again: as many streams as there are sequences, all at once.
      const parallel = server.config.pool.numParallel;
      const results = await Promise.all(
        Array.from({ length: parallel }, async () => {
          const s = await client.chat.completions.create({ model: 'tiny-llama', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4, stream: true });
          let finish: string | null = null;
          let text = '';
          for await (const chunk of s) {
            text += chunk.choices[0]?.delta.content ?? '';
            finish = chunk.choices[0]?.finish_reason ?? finish;
          }
          return { finish, text };
        }),
      );
      for (const r of results) {
        assert.equal(r.finish, 'length');
        assert.ok(r.text.length > 0);
      }

      const llama = () => server.pool.list().find((m) => m.name === 'tiny-llama');
      assert.ok(llama(), 'tiny-llama is in the pool');
      const idle = await waitFor(() => llama()!.inFlight === 0, { what: 'tiny-llama to have no request in flight' }).then(() => true, () => false);
      assert.ok(idle, `tiny-llama still has ${llama()!.inFlight} requests in flight`);
    });
  });

  describe('completions (stories)', { skip: stories }, () => {
    const prompt = 'Once upon a time';
    const complete = (extra: Partial<OpenAI.Completions.CompletionCreateParamsNonStreaming> = {}) =>
      client.completions.create({ model: 'stories', prompt, max_tokens: 30, temperature: 0, ...extra });
    /** The greedy 30-token story, without any stop sequence. */
    let story: string;

    before(async () => {
      if (stories) return;
      story = (await complete()).choices[0]!.text;
    });

    test('greedy completion of "Once upon a time" tells the story', async () => {
      const res = await complete();
      assert.equal(res.object, 'text_completion');
      assert.match(res.id, /^cmpl-/);
      assert.equal(res.model, 'stories');
      const choice = res.choices[0]!;
      assert.ok(/Lily|girl/.test(choice.text), `story text: ${JSON.stringify(choice.text)}`);
      assert.equal(choice.text, story, 'temperature 0 is deterministic');
      assert.equal(choice.finish_reason, 'length');
      assert.ok(res.usage, 'usage is reported');
      assert.ok(res.usage.prompt_tokens > 0);
      assert.equal(res.usage.completion_tokens, 30);
      assert.equal(res.usage.total_tokens, res.usage.prompt_tokens + res.usage.completion_tokens);
    });

    test('a stop sequence ends the text before it, with finish_reason stop', async () => {
      assert.ok(story.includes('Lily'), `without stop the text names Lily: ${JSON.stringify(story)}`);
      const res = await complete({ stop: ['Lily'] });
      const text = res.choices[0]!.text;
      assert.ok(!text.includes('Lily'), `stop text is not returned: ${JSON.stringify(text)}`);
      assert.equal(res.choices[0]!.finish_reason, 'stop');
      assert.ok(text.length > 0 && story.startsWith(text), `the text is the start of the story: ${JSON.stringify(text)}`);
      assert.ok(res.usage && res.usage.completion_tokens < 30, 'generation stopped early');
    });

    test('streaming with a stop sequence stops the same way', async () => {
      const stop = (await complete({ stop: ['Lily'] })).choices[0]!.text;
      const stream = await client.completions.create({ model: 'stories', prompt, max_tokens: 30, temperature: 0, stop: ['Lily'], stream: true });
      let text = '';
      let finish: string | null = null;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.text ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      assert.equal(text, stop);
      assert.equal(finish, 'stop');
    });

    // OpenAI: "The returned text will not contain the stop sequence" and contains everything before it.
    test('the text is exactly what precedes the stop sequence, for stops within and across tokens', async () => {
      const stops = ['Lily', 'girl named', ' Lily', 'the park'];
      const expected: Record<string, { text: string; finish: string }> = {};
      const actual: Record<string, { text: string; finish: string }> = {};
      for (const stop of stops) {
        assert.ok(story.includes(stop), `${JSON.stringify(stop)} occurs in the story`);
        expected[stop] = { text: story.slice(0, story.indexOf(stop)), finish: 'stop' };
        const res = await complete({ stop: [stop] });
        actual[stop] = { text: res.choices[0]!.text, finish: res.choices[0]!.finish_reason };
      }
      assert.deepEqual(actual, expected);
    });

    test('a stop sequence that only starts to match at the end does not eat the text', async () => {
      // The story ends "One day,": the trailing "," could begin ",zzz", which never completes.
      assert.ok(story.endsWith(','), `the story ends with a comma: ${JSON.stringify(story)}`);
      const res = await complete({ stop: [',zzz'] });
      assert.equal(res.choices[0]!.text, story);
      assert.equal(res.choices[0]!.finish_reason, 'length');
      assert.equal(res.usage?.completion_tokens, 30);
    });

    test('streaming completion gives the same text as non-streaming', async () => {
      const stream = await client.completions.create({ model: 'stories', prompt, max_tokens: 30, temperature: 0, stream: true });
      const chunks: OpenAI.Completions.Completion[] = [];
      for await (const chunk of stream) chunks.push(chunk);
      assert.ok(chunks.length > 2, `several chunks, got ${chunks.length}`);
      assert.ok(chunks.every((c) => c.object === 'text_completion' && c.choices.length === 1));
      assert.equal(chunks.map((c) => c.choices[0]!.text).join(''), story);
      assert.equal(chunks.at(-1)!.choices[0]!.finish_reason, 'length');
      assert.ok(
        chunks.slice(0, -1).every((c) => c.choices[0]!.finish_reason === null),
        'only the last chunk has a finish_reason',
      );
    });
  });

  test('models.list includes the aliases', async () => {
    const ids: string[] = [];
    for await (const model of client.models.list()) {
      assert.equal(model.object, 'model');
      ids.push(model.id);
    }
    assert.ok(ids.includes('tiny-llama'), `ids: ${ids.join(', ')}`);
    assert.ok(ids.includes('tiny-bert'), `ids: ${ids.join(', ')}`);
    if (process.env.HEARTH_TEST_MODEL) assert.ok(ids.includes('stories'), `ids: ${ids.join(', ')}`);
  });

  test('models.retrieve finds every listed model, by any spelling of its name; an unknown one is a 404', async () => {
    for await (const listed of client.models.list()) {
      const found = await client.models.retrieve(listed.id);
      assert.deepEqual(found, listed);
    }
    assert.equal((await client.models.retrieve('TINY-LLAMA:latest')).id, 'tiny-llama');
    await expectApiError(client.models.retrieve('no-such-model'), OpenAI.NotFoundError);
  });

  describe('errors in the OpenAI shape (raw HTTP)', () => {
    test('a malformed JSON body is a 400 invalid_request_error', async () => {
      const response = await fetch(`${server.url}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"model": "tiny-bert", "input": ' });
      assert.equal(response.status, 400);
      const error = assertErrorShape(await response.json(), 'invalid_request_error');
      assert.match(error.message as string, /JSON/);
    });

    test('a body over the 16 MiB limit is a 413', async () => {
      const body = JSON.stringify({ model: 'tiny-bert', input: 'a'.repeat(17 * 1024 * 1024) });
      const response = await fetch(`${server.url}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      assert.equal(response.status, 413);
      const error = assertErrorShape(await response.json(), 'invalid_request_error');
      assert.equal(error.code, 'body_too_large');
    });

    test('an unknown route under /v1 is a 404 not_found_error', async () => {
      const response = await fetch(`${server.url}/v1/nope`);
      assert.equal(response.status, 404);
      const error = assertErrorShape(await response.json(), 'not_found_error');
      assert.match(error.message as string, /\/v1\/nope/);
    });
  });
});
