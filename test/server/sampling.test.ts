import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import OpenAI, { BadRequestError } from 'openai';
import { sdkServer } from '../support/sdk-server.js';

/**
 * The sampling set on both APIs, through the official SDKs. Each option is
 * shown to be applied, not merely accepted: greedy TinyStories answers are
 * compared across the two APIs (the same option through each gives the same
 * text) and against settings that must reduce to greedy decoding (top_k 1 or
 * min_p 1 at any temperature and seed). Options hearth does not implement
 * are refused by name.
 */

const stories = process.env.HEARTH_TEST_MODEL ? false : 'HEARTH_TEST_MODEL is not set';
const PROMPT = 'Once upon a time';
const TOKENS = 40;

describe('sampling options', () => {
  const sdk = sdkServer();

  /** OpenAI's /v1/completions, with extra (llama.cpp-style) fields passed through the SDK's body. */
  const complete = async (extra: Record<string, unknown> = {}) => {
    const res = await sdk.openai.completions.create({ model: 'stories', prompt: PROMPT, max_tokens: TOKENS, temperature: 0, ...extra } as OpenAI.Completions.CompletionCreateParamsNonStreaming);
    return res.choices[0]!.text;
  };
  const generate = async (options: Record<string, unknown> = {}) =>
    (await sdk.ollama.generate({ model: 'stories', prompt: PROMPT, raw: true, options: { num_predict: TOKENS, temperature: 0, ...options } })).response;

  describe('on TinyStories', { skip: stories }, () => {
    test('repetition penalties: off by default on OpenAI, llama.cpp\'s 1.1 by default on Ollama, and the same settings give the same text on both', async () => {
      const openaiDefault = await complete();
      const ollamaDefault = await generate();
      assert.equal(openaiDefault, await generate({ repeat_penalty: 1 }), 'OpenAI applies no repetition penalty unless asked');
      assert.equal(ollamaDefault, await complete({ repeat_penalty: 1.1 }), "Ollama's default is a 1.1 penalty");
      assert.notEqual(openaiDefault, ollamaDefault, 'the penalty changes this story');
      const penalized = await complete({ frequency_penalty: 1.5, presence_penalty: 0.5 });
      assert.notEqual(penalized, openaiDefault, 'the frequency and presence penalties change it');
      assert.equal(penalized, await generate({ repeat_penalty: 1, frequency_penalty: 1.5, presence_penalty: 0.5 }));
      assert.equal(await generate({ repeat_last_n: 0 }), openaiDefault, 'repeat_last_n 0 turns the penalties off');
    });

    test('top_k 1 and min_p 1 leave one candidate: greedy text at any temperature and seed', async () => {
      const greedy = await complete();
      for (const seed of [1, 2]) {
        assert.equal(await complete({ temperature: 1.5, seed, top_k: 1 }), greedy, `OpenAI top_k 1, seed ${seed}`);
        assert.equal(await complete({ temperature: 1.5, seed, min_p: 1 }), greedy, `OpenAI min_p 1, seed ${seed}`);
        assert.equal(await generate({ temperature: 1.5, seed, top_k: 1, repeat_penalty: 1 }), greedy, `Ollama top_k 1, seed ${seed}`);
      }
      assert.notEqual(await complete({ temperature: 1.5, seed: 1 }), greedy, 'without them, temperature 1.5 samples another story');
    });

    test('logit_bias shifts token logits: +100 makes one token the answer, -100 bans a token; an id past the vocabulary is a 400', async () => {
      const { readGgufFileInfo } = await import('node-llama-cpp');
      const tokens = (await readGgufFileInfo(process.env.HEARTH_TEST_MODEL!)).metadata.tokenizer!.ggml!.tokens as string[];
      const big = tokens.indexOf('▁big');
      assert.ok(big > 0, 'the vocabulary has "▁big"');
      assert.deepEqual((await complete({ logit_bias: { [big]: 100 }, max_tokens: 5 })).trim().split(' '), ['big', 'big', 'big', 'big', 'big']);
      const greedy = await complete();
      assert.ok(greedy.startsWith(','), `the greedy story goes on with a comma: ${greedy}`);
      const commas = Object.fromEntries(tokens.flatMap((t, id) => (t === ',' || t === '▁,' ? [[id, -100]] : [])));
      const banned = await complete({ logit_bias: commas });
      assert.ok(!banned.includes(','), `no comma once banned: ${banned}`);
      await assert.rejects(complete({ logit_bias: { [tokens.length]: 5 } }), (e) => e instanceof BadRequestError && /logit_bias: token \d+ is not in this model's vocabulary/.test(e.message));
    });

    test('num_ctx bounds prompt and answer together; beyond the loaded context it is a 400 naming it', async () => {
      const prompt = (await sdk.ollama.generate({ model: 'stories', prompt: PROMPT, raw: true, options: { num_predict: 1 } })).prompt_eval_count!;
      const bounded = await sdk.ollama.generate({ model: 'stories', prompt: PROMPT, raw: true, options: { num_predict: TOKENS, temperature: 0, num_ctx: prompt + 5 } });
      assert.equal(bounded.done_reason, 'length');
      assert.equal(bounded.eval_count, 5);
      await assert.rejects(sdk.ollama.generate({ model: 'stories', prompt: PROMPT, raw: true, options: { num_ctx: prompt } }), /INPUT_TOO_LONG|does not fit|context holds/);
      await assert.rejects(sdk.ollama.generate({ model: 'stories', prompt: PROMPT, raw: true, options: { num_ctx: 1_000_000 } }), /options\.num_ctx/);
    });
  });

  describe('several answers in one request (n, prompt arrays, echo)', { skip: stories }, () => {
    test('n answers, each what the same request alone gives with seed + its index; usage counts the prompt once', async () => {
      const request = { model: 'stories', prompt: PROMPT, max_tokens: 12, temperature: 1, seed: 5 };
      const many = await sdk.openai.completions.create({ ...request, n: 3 });
      assert.deepEqual(many.choices.map((c) => c.index), [0, 1, 2]);
      for (const [i, choice] of many.choices.entries()) {
        const alone = await sdk.openai.completions.create({ ...request, seed: 5 + i });
        assert.equal(choice.text, alone.choices[0]!.text, `choice ${i}`);
      }
      assert.ok(new Set(many.choices.map((c) => c.text)).size > 1, 'the answers differ');
      const single = await sdk.openai.completions.create(request);
      assert.equal(many.usage!.prompt_tokens, single.usage!.prompt_tokens);
      assert.equal(many.usage!.completion_tokens, 36);
    });

    test('a prompt array answers each prompt in order, streamed the same as not; echo puts each prompt before its answer', async () => {
      const prompts = ['Once upon a time', 'The dog', 'Lily wanted'];
      const request = { model: 'stories', prompt: prompts, max_tokens: 10, temperature: 0 };
      const res = await sdk.openai.completions.create(request);
      for (const [i, prompt] of prompts.entries()) {
        const alone = await sdk.openai.completions.create({ ...request, prompt });
        assert.equal(res.choices[i]!.text, alone.choices[0]!.text, prompt);
      }
      const streamed = ['', '', ''];
      const finish: Array<string | null> = [null, null, null];
      for await (const chunk of await sdk.openai.completions.create({ ...request, stream: true })) {
        for (const c of chunk.choices) {
          streamed[c.index] += c.text;
          finish[c.index] = c.finish_reason ?? finish[c.index]!;
        }
      }
      assert.deepEqual(streamed, res.choices.map((c) => c.text));
      assert.deepEqual(finish, ['length', 'length', 'length']);
      const echoed = await sdk.openai.completions.create({ ...request, echo: true });
      assert.deepEqual(echoed.choices.map((c) => c.text), res.choices.map((c, i) => prompts[i] + c.text));
    });

    test('chat with n streams every choice to its finish', async () => {
      const stream = await sdk.openai.chat.completions.create({ model: 'stories', messages: [{ role: 'user', content: 'Tell a story' }], max_tokens: 8, temperature: 1, seed: 1, n: 2, stream: true });
      const finish: Array<string | null> = [null, null];
      for await (const chunk of stream) for (const c of chunk.choices) finish[c.index] = c.finish_reason ?? finish[c.index]!;
      assert.deepEqual(finish, ['length', 'length']);
      assert.equal(sdk.server.pool.list().find((m) => m.name === 'stories')?.inFlight ?? 0, 0, 'the lease went back once every choice ended');
    });
  });

  test('options and fields hearth does not implement are refused by name, on both APIs', async () => {
    const chat = { model: 'tiny-llama', messages: [{ role: 'user' as const, content: 'hi' }] };
    await assert.rejects(sdk.ollama.chat({ ...chat, options: { mirostat: 2 } as Record<string, unknown> }), /mirostat/);
    await assert.rejects(sdk.ollama.generate({ model: 'tiny-llama', prompt: 'x', images: ['aGk='] }), /images is not supported/);
    await assert.rejects(sdk.ollama.chat({ ...chat, think: true }), /think is not supported/);
    for (const [field, value] of [['reasoning_effort', 'high']] as const) {
      await assert.rejects(sdk.openai.chat.completions.create({ ...chat, [field]: value }), (e) => e instanceof BadRequestError && e.message.includes(`${field} is not supported`), field);
    }
    await assert.rejects(sdk.openai.chat.completions.create({ ...chat, n: 9 }), (e) => e instanceof BadRequestError && /\bn\b/.test(e.message));
    await assert.rejects(sdk.openai.completions.create({ model: 'tiny-llama', prompt: ['a', 'b', 'c'], n: 3 }), (e) => e instanceof BadRequestError && /prompt: 3 prompt\(s\) × n 3/.test(e.message));
    await assert.rejects(sdk.openai.chat.completions.create({ ...chat, presence_penalty: 3 }), (e) => e instanceof BadRequestError && /presence_penalty/.test(e.message));
    // Fields that change nothing in the answer are accepted.
    const ok = await sdk.openai.chat.completions.create({ ...chat, max_tokens: 2, user: 'u1', metadata: { a: 'b' }, store: false, tool_choice: 'none' });
    assert.equal(ok.choices.length, 1);
  });
});
