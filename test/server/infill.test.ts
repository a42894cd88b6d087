import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import OpenAI, { BadRequestError } from 'openai';
import { sdkServer } from '../support/sdk-server.js';

/**
 * `suffix`: fill-in-the-middle on both APIs (Ollama's /api/generate, OpenAI's
 * /v1/completions), on a model whose vocabulary has FIM tokens; any other
 * model answers a 400 naming the field, before anything is generated.
 */
describe('suffix (fill-in-the-middle)', () => {
  const sdk = sdkServer();
  const PREFIX = 'def add(a, b):\n    return';
  const SUFFIX = '\n\nprint(add(1, 2))';

  test('the FIM model lists the insert capability; the others do not', async () => {
    assert.ok((await sdk.ollama.show({ model: 'tiny-llama-fim' })).capabilities.includes('insert'));
    assert.ok(!(await sdk.ollama.show({ model: 'tiny-llama' })).capabilities.includes('insert'));
  });

  test('both APIs fill in between the prompt and the suffix, with the same text for the same settings', async () => {
    const ollama = await sdk.ollama.generate({ model: 'tiny-llama-fim', prompt: PREFIX, suffix: SUFFIX, stream: false, options: { num_predict: 12, temperature: 0, repeat_penalty: 1 } });
    assert.equal(ollama.done_reason, 'length');
    assert.equal(ollama.eval_count, 12);
    const plain = await sdk.ollama.generate({ model: 'tiny-llama-fim', prompt: PREFIX, raw: true, stream: false, options: { num_predict: 12, temperature: 0, repeat_penalty: 1 } });
    assert.ok(ollama.prompt_eval_count > plain.prompt_eval_count + 3, `the suffix and the FIM markers are in the prompt: ${ollama.prompt_eval_count} vs ${plain.prompt_eval_count}`);
    assert.notEqual(ollama.response, plain.response, 'the suffix changes what comes next');
    const openai = await sdk.openai.completions.create({ model: 'tiny-llama-fim', prompt: PREFIX, suffix: SUFFIX, max_tokens: 12, temperature: 0 } as OpenAI.Completions.CompletionCreateParamsNonStreaming);
    assert.equal(openai.choices[0]!.text, ollama.response);
    let streamed = '';
    for await (const part of await sdk.ollama.generate({ model: 'tiny-llama-fim', prompt: PREFIX, suffix: SUFFIX, stream: true, options: { num_predict: 12, temperature: 0, repeat_penalty: 1 } })) streamed += part.response;
    assert.equal(streamed, ollama.response);
  });

  test('a model without FIM tokens, or logprobs with a suffix, is a 400 naming the field', async () => {
    await assert.rejects(sdk.ollama.generate({ model: 'tiny-llama', prompt: 'x', suffix: 'y' }), /fill-in-the-middle/);
    await assert.rejects(
      sdk.openai.completions.create({ model: 'tiny-llama', prompt: 'x', suffix: 'y', max_tokens: 2 }),
      (e) => e instanceof BadRequestError && /fill-in-the-middle/.test(e.message),
    );
    await assert.rejects(
      sdk.openai.completions.create({ model: 'tiny-llama-fim', prompt: 'x', suffix: 'y', max_tokens: 2, logprobs: 1 }),
      (e) => e instanceof BadRequestError && /logprobs: log-probabilities cannot be combined with a suffix/.test(e.message),
    );
    const empty = await sdk.ollama.generate({ model: 'tiny-llama', prompt: 'x', suffix: '', raw: true, stream: false, options: { num_predict: 1 } });
    assert.equal(empty.done, true, 'an empty suffix is no suffix, as in Ollama');
  });
});
