import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { BadRequestError } from 'openai';
import { sdkServer } from '../support/sdk-server.js';

/**
 * Structured outputs through the official SDKs: every answer to a schema
 * parses and validates (checked with ajv, a JSON Schema validator that is not
 * the grammar's own code), on the generated llama (random weights: the
 * grammar alone keeps it in line) and, with HEARTH_TEST_MODEL, the trained
 * TinyStories model; streamed and not; and a schema the grammar cannot
 * enforce is a 400 naming its keyword.
 */

const SCHEMAS: Record<string, Record<string, unknown>> = {
  'nested objects': {
    type: 'object',
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 12 },
      address: { type: 'object', properties: { city: { type: 'string', maxLength: 10 }, zip: { type: 'integer', minimum: 1000, maximum: 1010 } }, required: ['city', 'zip'] },
    },
    required: ['name', 'address'],
    additionalProperties: false,
  },
  arrays: {
    type: 'object',
    properties: { tags: { type: 'array', items: { type: 'string', maxLength: 6 }, minItems: 1, maxItems: 3 }, pair: { type: 'array', prefixItems: [{ type: 'boolean' }, { type: 'null' }], maxItems: 2 } },
    required: ['tags', 'pair'],
  },
  enums: { type: 'object', properties: { mood: { enum: ['happy', 'sad', 'calm'] }, kind: { const: 'feeling' }, ok: { type: 'boolean' } }, required: ['mood', 'kind', 'ok'] },
  'bounded numbers': {
    type: 'object',
    properties: { age: { type: 'integer', minimum: 0, maximum: 120 }, stars: { type: 'integer', exclusiveMinimum: 0, exclusiveMaximum: 6 }, maybe: { type: ['string', 'null'], maxLength: 4 } },
    required: ['age', 'stars', 'maybe'],
  },
};

const MODELS = ['tiny-llama', ...(process.env.HEARTH_TEST_MODEL ? ['stories'] : [])];
const MAX_TOKENS = 400;

describe('structured outputs', () => {
  const sdk = sdkServer();
  const ajv = new Ajv2020({ strict: false });

  const assertValid = (schema: Record<string, unknown>, text: string, what: string) => {
    let value: unknown;
    assert.doesNotThrow(() => (value = JSON.parse(text)), `${what}: not JSON: ${text}`);
    assert.ok(ajv.validate(schema, value), `${what}: ${text} does not validate: ${ajv.errorsText()}`);
  };

  for (const model of MODELS) {
    for (const [name, schema] of Object.entries(SCHEMAS)) {
      test(`${model}, ${name}: OpenAI json_schema, streamed and not, at several seeds`, async () => {
        for (const seed of [1, 2, 3]) {
          const request = { model, messages: [{ role: 'user' as const, content: 'Describe someone.' }], max_tokens: MAX_TOKENS, temperature: 1, seed, response_format: { type: 'json_schema' as const, json_schema: { name: 'answer', schema, strict: true } } };
          const res = await sdk.openai.chat.completions.create(request);
          assert.equal(res.choices[0]!.finish_reason, 'stop', `seed ${seed}: ${res.choices[0]!.message.content}`);
          assertValid(schema, res.choices[0]!.message.content!, `seed ${seed}`);
          let streamed = '';
          for await (const chunk of await sdk.openai.chat.completions.create({ ...request, stream: true })) streamed += chunk.choices[0]?.delta.content ?? '';
          assert.equal(streamed, res.choices[0]!.message.content, 'the same seed streams the same answer');
        }
      });

      test(`${model}, ${name}: Ollama format with a schema, on chat and generate`, async () => {
        const chat = await sdk.ollama.chat({ model, messages: [{ role: 'user', content: 'Describe someone.' }], format: schema, options: { num_predict: MAX_TOKENS, seed: 7 } });
        assert.equal(chat.done_reason, 'stop');
        assertValid(schema, chat.message.content, 'chat');
        let streamed = '';
        for await (const part of await sdk.ollama.generate({ model, prompt: 'Describe someone.', format: schema, stream: true, options: { num_predict: MAX_TOKENS, seed: 7 } })) streamed += part.response;
        assertValid(schema, streamed, 'generate, streamed');
      });
    }

    test(`${model}: JSON mode (Ollama "json", OpenAI json_object) answers a JSON object, or says it was cut`, async () => {
      const object = { type: 'object' };
      // Free-form JSON has no bound on a string's length: the random-weights model can write one key until
      // the token limit. The answer then says "length", as OpenAI's does, and is the start of an object.
      const check = (text: string, reason: string | undefined, what: string) => {
        if (model === 'stories') assert.equal(reason, 'stop', `${what}: ${text}`);
        if (reason === 'stop') assertValid(object, text, what);
        else assert.ok(reason === 'length' && text.startsWith('{'), `${what}: ${reason}: ${text}`);
      };
      const ollamaJson = await sdk.ollama.generate({ model, prompt: 'Give me JSON.', format: 'json', options: { num_predict: MAX_TOKENS, seed: 3 } });
      check(ollamaJson.response ?? '', ollamaJson.done_reason, 'ollama json');
      const res = await sdk.openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'JSON please' }], max_tokens: MAX_TOKENS, seed: 3, response_format: { type: 'json_object' } });
      check(res.choices[0]!.message.content!, res.choices[0]!.finish_reason, 'json_object');
    });
  }

  test('a schema the grammar cannot enforce is a 400 naming the field and keyword, on both APIs, before anything is generated', async () => {
    const schema = { type: 'object', properties: { email: { type: 'string', pattern: '^.+@.+$' } } };
    await assert.rejects(
      sdk.openai.chat.completions.create({ model: 'tiny-llama', messages: [{ role: 'user', content: 'x' }], stream: true, response_format: { type: 'json_schema', json_schema: { name: 'a', schema } } }),
      (e) => e instanceof BadRequestError && /response_format\.json_schema\.schema\.properties\.email\.pattern/.test(e.message),
    );
    await assert.rejects(sdk.ollama.chat({ model: 'tiny-llama', messages: [{ role: 'user', content: 'x' }], format: { type: 'number', minimum: 0 } }), (e: Error) => /format\.minimum/.test(e.message));
    await assert.rejects(
      sdk.openai.chat.completions.create({ model: 'tiny-llama', messages: [{ role: 'user', content: 'x' }], response_format: { type: 'json_schema', json_schema: { name: 'has spaces', schema: {} } } }),
      (e) => e instanceof BadRequestError && /response_format\.json_schema\.name/.test(e.message),
    );
    assert.equal(sdk.server.pool.list().find((m) => m.name === 'tiny-llama')?.inFlight ?? 0, 0);
  });
});
