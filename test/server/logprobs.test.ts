import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import OpenAI, { BadRequestError } from 'openai';
import { sdkServer } from '../support/sdk-server.js';

/**
 * OpenAI's log-probabilities, through the official SDK: `logprobs` and
 * `top_logprobs` on chat, `logprobs` on the legacy completions, streamed and
 * not. Greedy, asking for them does not change the answer.
 */

const stories = process.env.HEARTH_TEST_MODEL ? false : 'HEARTH_TEST_MODEL is not set';
const PROMPT = 'Once upon a time';

describe('logprobs', () => {
  const sdk = sdkServer();
  const complete = (extra: Record<string, unknown>) =>
    sdk.openai.completions.create({ model: 'stories', prompt: PROMPT, max_tokens: 24, temperature: 0, ...extra } as OpenAI.Completions.CompletionCreateParamsNonStreaming);

  test('completions on TinyStories: the same text, each token with its log-probability, alternatives and offset', { skip: stories }, async () => {
    const plain = (await complete({})).choices[0]!;
    const choice = (await complete({ logprobs: 3 })).choices[0]!;
    assert.equal(choice.text, plain.text, 'asking for logprobs does not change the answer');
    const lp = choice.logprobs!;
    assert.equal(lp.tokens!.join(''), choice.text);
    assert.equal(lp.tokens!.length, 24);
    assert.deepEqual(lp.text_offset, lp.tokens!.map((_, i) => lp.tokens!.slice(0, i).join('').length));
    lp.token_logprobs!.forEach((logprob, i) => {
      const top = Object.entries(lp.top_logprobs![i]!);
      assert.equal(top.length, 3, `token ${i}`);
      assert.ok(logprob <= 0 && Number.isFinite(logprob));
      // Greedy: the chosen token is the likeliest, and the alternatives come likeliest first.
      assert.equal(Math.max(...top.map(([, p]) => p)), logprob, `token ${i} is the top alternative`);
      assert.deepEqual(top.map(([, p]) => p), top.map(([, p]) => p).sort((a, b) => b - a));
    });

    // Sampled, the seed gives the same story again (node-llama-cpp's completion loop and hearth's own differ in how they draw; see the README).
    const sampled = (await complete({ temperature: 1, seed: 7, logprobs: 0 })).choices[0]!;
    assert.equal((await complete({ temperature: 1, seed: 7, logprobs: 0 })).choices[0]!.text, sampled.text, 'the same seed samples the same story');
    assert.equal(sampled.logprobs!.tokens!.join(''), sampled.text);
  });

  test('chat: content tokens add up to the message; streamed, they come in one chunk and match', async () => {
    const request = { model: 'tiny-llama', messages: [{ role: 'user' as const, content: 'hello' }], max_tokens: 8, temperature: 0, logprobs: true, top_logprobs: 2 };
    const plain = await sdk.openai.chat.completions.create({ ...request, logprobs: false, top_logprobs: undefined });
    const res = await sdk.openai.chat.completions.create(request);
    const content = res.choices[0]!.logprobs!.content!;
    assert.equal(res.choices[0]!.message.content, plain.choices[0]!.message.content);
    assert.equal(content.map((c) => c.token).join(''), res.choices[0]!.message.content);
    assert.equal(content.length, res.usage!.completion_tokens);
    for (const c of content) {
      assert.equal(c.top_logprobs.length, 2);
      assert.deepEqual(c.bytes, [...Buffer.from(c.token, 'utf8')]);
    }
    const streamed: OpenAI.Chat.Completions.ChatCompletionTokenLogprob[] = [];
    let text = '';
    for await (const chunk of await sdk.openai.chat.completions.create({ ...request, stream: true })) {
      text += chunk.choices[0]?.delta.content ?? '';
      streamed.push(...(chunk.choices[0]?.logprobs?.content ?? []));
    }
    assert.equal(text, res.choices[0]!.message.content);
    assert.deepEqual(streamed, content);
    assert.equal(plain.choices[0]!.logprobs, null, 'none unless asked');
    const again = await sdk.openai.chat.completions.create({ ...request, logprobs: false, top_logprobs: undefined });
    assert.equal(again.choices[0]!.message.content, plain.choices[0]!.message.content, "the token loop leaves the sequences as node-llama-cpp's chat expects them");
  });

  test('Ollama: the same tokens and log-probabilities as OpenAI for the same settings; streamed, with the last message', { skip: stories }, async () => {
    const openai = (await complete({ logprobs: 2 })).choices[0]!.logprobs!;
    const request = { model: 'stories', prompt: PROMPT, raw: true, logprobs: true, top_logprobs: 2, options: { num_predict: 24, temperature: 0, repeat_penalty: 1 } };
    const res = await sdk.ollama.generate({ ...request, stream: false });
    assert.deepEqual(res.logprobs!.map((l) => l.token), openai.tokens);
    assert.deepEqual(res.logprobs!.map((l) => l.logprob), openai.token_logprobs);
    assert.deepEqual(res.logprobs!.map((l) => l.top_logprobs!.map((t) => t.token)), openai.top_logprobs!.map((t) => Object.keys(t)));
    const streamed = [];
    for await (const part of await sdk.ollama.generate({ ...request, stream: true })) streamed.push(...(part.logprobs ?? []));
    assert.deepEqual(streamed, res.logprobs);
  });

  test('with a response format, the grammar still holds', async () => {
    // A schema whose every answer is a few tokens, so it always ends, and its JSON is always checked.
    const schema = { type: 'object', properties: { happy: { type: 'boolean' }, mood: { enum: ['calm', 'busy'] } }, required: ['happy', 'mood'], additionalProperties: false };
    const res = await sdk.openai.chat.completions.create({
      model: 'tiny-llama',
      messages: [{ role: 'user', content: 'json' }],
      max_tokens: 64,
      logprobs: true,
      response_format: { type: 'json_schema', json_schema: { name: 'mood', schema } },
    });
    const choice = res.choices[0]!;
    assert.equal(choice.finish_reason, 'stop', choice.message.content!);
    const value = JSON.parse(choice.message.content!) as { happy: unknown; mood: unknown };
    assert.equal(typeof value.happy, 'boolean');
    assert.ok(value.mood === 'calm' || value.mood === 'busy', choice.message.content!);
    assert.equal(choice.logprobs!.content!.map((c) => c.token).join(''), choice.message.content);
  });

  test('bad input: a 400 naming the field', async () => {
    const chat = { model: 'tiny-llama', messages: [{ role: 'user' as const, content: 'hi' }], max_tokens: 2 };
    const cases: Array<[Promise<unknown>, RegExp]> = [
      [sdk.openai.chat.completions.create({ ...chat, logprobs: true, top_logprobs: 21 }), /top_logprobs/],
      [sdk.openai.chat.completions.create({ ...chat, top_logprobs: 2 }), /top_logprobs: needs logprobs: true/],
      [sdk.openai.completions.create({ model: 'tiny-llama', prompt: 'x', logprobs: 6 }), /logprobs/],
      [sdk.openai.completions.create({ model: 'tiny-llama', prompt: 'x', logprobs: 1, echo: true }), /echo: with logprobs/],
      [
        sdk.openai.chat.completions.create({ ...chat, model: 'tiny-llama-tools', logprobs: true, tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: {} } } }], tool_choice: 'required' }),
        /logprobs: log-probabilities cannot be combined with tools/,
      ],
    ];
    for (const [promise, message] of cases) await assert.rejects(promise, (e) => e instanceof BadRequestError && message.test(e.message), String(message));
  });
});
