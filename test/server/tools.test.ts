import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AIMessage, HumanMessage, ToolMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { ChatOllama } from '@langchain/ollama';
import { ChatOpenAI } from '@langchain/openai';
import { Ajv2020 } from 'ajv/dist/2020.js';
import OpenAI, { BadRequestError } from 'openai';
import { z } from 'zod';
import { sdkServer } from '../support/sdk-server.js';

/**
 * Tool calls through the official SDKs and LangChain, on the generated llama
 * with a tool format in its template (random weights: a call forced by
 * tool_choice comes from the grammar alone, which is what makes it a
 * dependable test). Every call's arguments are validated against its
 * function's schema with ajv.
 */

const WEATHER = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string', maxLength: 20 }, unit: { enum: ['celsius', 'fahrenheit'] } }, required: ['city', 'unit'], additionalProperties: false },
  },
};
const TIME = {
  type: 'function' as const,
  function: { name: 'get_time', description: 'The time in a time zone', parameters: { type: 'object', properties: { zone: { type: 'string', maxLength: 12 } }, required: ['zone'] } },
};
const SCHEMAS: Record<string, object> = { get_weather: WEATHER.function.parameters, get_time: TIME.function.parameters };
const MODEL = 'tiny-llama-tools';

describe('tool calls', () => {
  const sdk = sdkServer();
  const ajv = new Ajv2020({ strict: false });

  const assertValidCall = (name: string, args: unknown) => {
    assert.ok(name in SCHEMAS, `unknown tool ${name}`);
    assert.ok(ajv.validate(SCHEMAS[name]!, args), `${name}(${JSON.stringify(args)}): ${ajv.errorsText()}`);
  };

  test('tool_choice required: a call to one of the tools with valid arguments, streamed the same as not', async () => {
    const request = { model: MODEL, messages: [{ role: 'user' as const, content: 'Weather in Paris?' }], tools: [WEATHER, TIME], tool_choice: 'required' as const, max_tokens: 200, seed: 4, temperature: 0.8 };
    const res = await sdk.openai.chat.completions.create(request);
    const choice = res.choices[0]!;
    assert.equal(choice.finish_reason, 'tool_calls');
    const calls = choice.message.tool_calls!;
    assert.equal(calls.length, 1);
    assert.match(calls[0]!.id, /^call_[0-9a-f]{24}$/);
    assert.equal(calls[0]!.type, 'function');
    const call = calls[0] as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;
    assertValidCall(call.function.name, JSON.parse(call.function.arguments));
    const streamed: Array<{ name?: string; arguments: string }> = [];
    let finish: string | null = null;
    for await (const chunk of await sdk.openai.chat.completions.create({ ...request, stream: true })) {
      for (const delta of chunk.choices[0]?.delta.tool_calls ?? []) {
        streamed[delta.index] ??= { arguments: '' };
        streamed[delta.index]!.name ??= delta.function?.name;
        streamed[delta.index]!.arguments += delta.function?.arguments ?? '';
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.equal(finish, 'tool_calls');
    assert.deepEqual(streamed, [{ name: call.function.name, arguments: call.function.arguments }]);
  });

  test('a named tool_choice calls that tool; the answer to its result is the next turn, on both APIs', async () => {
    for (const seed of [1, 2, 3]) {
      const res = await sdk.openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'What time is it in Tokyo?' }], tools: [WEATHER, TIME], tool_choice: { type: 'function', function: { name: 'get_time' } }, max_tokens: 200, seed });
      const call = res.choices[0]!.message.tool_calls![0] as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;
      assert.equal(call.function.name, 'get_time');
      assertValidCall('get_time', JSON.parse(call.function.arguments));
    }
    const first = await sdk.openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Weather?' }], tools: [WEATHER], tool_choice: 'required', max_tokens: 200 });
    const call = first.choices[0]!.message.tool_calls![0]!;
    const next = await sdk.openai.chat.completions.create({
      model: MODEL,
      messages: [{ role: 'user', content: 'Weather?' }, first.choices[0]!.message, { role: 'tool', tool_call_id: call.id, content: '{"temperature": 21}' }],
      tools: [WEATHER],
      tool_choice: 'none',
      max_tokens: 8,
    });
    assert.equal(next.choices[0]!.finish_reason, 'length');
    assert.ok(typeof next.choices[0]!.message.content === 'string' && next.choices[0]!.message.content.length > 0);
    const viaOllama = await sdk.ollama.chat({
      model: MODEL,
      messages: [{ role: 'user', content: 'Weather?' }, { role: 'assistant', content: '', tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'Oslo', unit: 'celsius' } } }] }, { role: 'tool', content: '{"temperature": 3}' }],
      tools: [WEATHER],
      options: { num_predict: 8 },
    });
    assert.equal(viaOllama.done, true);
  });

  test('tool_choice auto and Ollama tools: the template shows the model the tools, and a call it makes is valid', async () => {
    // The random-weights model rarely calls on its own, so the calls loop below may see none: what must hold
    // every time is that auto mode put the tools into the prompt, through the template's tool format.
    const question = [{ role: 'user' as const, content: 'Weather in Rome?' }];
    const bare = await sdk.openai.chat.completions.create({ model: MODEL, messages: question, max_tokens: 1 });
    const offered = await sdk.openai.chat.completions.create({ model: MODEL, messages: question, tools: [WEATHER, TIME], max_tokens: 1 });
    assert.ok(offered.usage!.prompt_tokens > bare.usage!.prompt_tokens + 20, `${offered.usage!.prompt_tokens} prompt tokens with tools, ${bare.usage!.prompt_tokens} without`);
    const ollamaBare = await sdk.ollama.chat({ model: MODEL, messages: question, options: { num_predict: 1 } });
    const ollamaOffered = await sdk.ollama.chat({ model: MODEL, messages: question, tools: [WEATHER, TIME], options: { num_predict: 1 } });
    assert.ok(ollamaOffered.prompt_eval_count > ollamaBare.prompt_eval_count + 20, 'Ollama tools reach the prompt too');
    for (const seed of [1, 2]) {
      const res = await sdk.openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'Weather in Rome?' }], tools: [WEATHER, TIME], max_tokens: 30, seed });
      for (const call of res.choices[0]!.message.tool_calls ?? []) {
        const fn = (call as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall).function;
        assertValidCall(fn.name, JSON.parse(fn.arguments));
      }
      const viaOllama = await sdk.ollama.chat({ model: MODEL, messages: [{ role: 'user', content: 'Weather in Rome?' }], tools: [WEATHER, TIME], options: { num_predict: 30, seed } });
      for (const call of viaOllama.message.tool_calls ?? []) assertValidCall(call.function.name, call.function.arguments);
    }
  });

  test('/api/show lists the tools capability only for a template with a tool format', async () => {
    assert.ok((await sdk.ollama.show({ model: MODEL })).capabilities.includes('tools'));
    assert.ok(!(await sdk.ollama.show({ model: 'tiny-llama' })).capabilities.includes('tools'));
  });

  test('bad tool requests are 400s that name the field, and a model without a tool format is refused before anything is generated', async () => {
    const chat = { model: MODEL, messages: [{ role: 'user' as const, content: 'x' }], max_tokens: 4 };
    const rejects = (promise: Promise<unknown>, field: RegExp) => assert.rejects(promise, (e) => e instanceof BadRequestError && field.test(e.message), String(field));
    await rejects(sdk.openai.chat.completions.create({ ...chat, tools: [{ type: 'function', function: {} } as never] }), /tools\.0\.function\.name/);
    await rejects(sdk.openai.chat.completions.create({ ...chat, tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { a: { type: 'string', pattern: 'x' } } } } }] }), /tools\.0\.function\.parameters\.properties\.a\.pattern/);
    await rejects(sdk.openai.chat.completions.create({ ...chat, tools: [WEATHER], tool_choice: { type: 'function', function: { name: 'nope' } } }), /tool_choice\.function\.name/);
    await rejects(sdk.openai.chat.completions.create({ ...chat, tools: [WEATHER, WEATHER] }), /tools\.1\.function\.name/);
    await rejects(sdk.openai.chat.completions.create({ ...chat, messages: [...chat.messages, { role: 'tool', tool_call_id: 'call_missing', content: 'x' }] }), /messages\.1\.tool_call_id/);
    await rejects(
      sdk.openai.chat.completions.create({ ...chat, messages: [...chat.messages, { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{oops' } }] }] }),
      /messages\.1\.tool_calls\.0\.function\.arguments/,
    );
    await rejects(sdk.openai.chat.completions.create({ ...chat, tool_choice: 'required' }), /tool_choice/);
    await assert.rejects(sdk.ollama.chat({ model: MODEL, messages: [{ role: 'user', content: 'x' }, { role: 'tool', content: 'y' }] }), /messages\.1/);
    await assert.rejects(sdk.openai.chat.completions.create({ ...chat, model: 'tiny-llama', stream: true, tools: [WEATHER] }), (e) => e instanceof BadRequestError && /no tool format/.test(e.message));
    assert.equal(sdk.server.pool.list().find((m) => m.name === 'tiny-llama')?.inFlight ?? 0, 0);
  });

  test('a LangChain loop: the model calls a tool, the tool runs, and the model answers its result (ChatOpenAI and ChatOllama)', async () => {
    let ran = 0;
    const weather = tool(
      (input: { city: string; unit: 'celsius' | 'fahrenheit' }) => {
        ran++;
        return JSON.stringify({ city: input.city, temperature: input.unit === 'celsius' ? 21 : 70 });
      },
      { name: 'get_weather', description: 'The weather in a city', schema: z.object({ city: z.string().max(20), unit: z.enum(['celsius', 'fahrenheit']) }) },
    );
    const model = new ChatOpenAI({ model: MODEL, apiKey: 'unused', configuration: { baseURL: `${sdk.server.url}/v1` }, maxTokens: 200, maxRetries: 0 });
    const history = [new HumanMessage('What is the weather in Paris?')];
    const asked = await model.bindTools([weather], { tool_choice: 'required' }).invoke(history);
    assert.equal(asked.tool_calls?.length, 1);
    const call = asked.tool_calls![0]!;
    assert.equal(call.name, 'get_weather');
    const result = await weather.invoke(call);
    assert.ok(result instanceof ToolMessage);
    assert.equal(ran, 1);
    const answer = await model.bindTools([weather], { tool_choice: 'none' }).invoke([...history, asked, result], { max_tokens: 8 } as never);
    assert.ok(typeof answer.content === 'string' && answer.content.length > 0);
    assert.equal((answer as AIMessage).tool_calls?.length ?? 0, 0);

    const viaOllama = new ChatOllama({ model: MODEL, baseUrl: sdk.server.url, numPredict: 8 });
    const reply = await viaOllama.bindTools([weather]).invoke([...history, new AIMessage({ content: '', tool_calls: [{ id: call.id, name: 'get_weather', args: call.args }] }), result]);
    assert.ok(typeof reply.content === 'string');
  });
});
