import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createStore } from '../../src/store/index.js';
import { sdkServer } from '../support/sdk-server.js';

/**
 * Ollama's model definitions through the official SDKs: /api/create (from a
 * stored model, with a template, a system prompt and parameters; or as
 * Modelfile text), /api/copy, /api/show and /api/delete, and their effect
 * on generation through both APIs.
 */

/** A Jinja chat template whose every prompt starts with a long, fixed preamble, so its use shows in the prompt's token count. */
const PREAMBLE_TEMPLATE =
  '{% for i in range(40) %}PREAMBLE {% endfor %}{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}';

async function status(promise: Promise<unknown>): Promise<{ status: number; error: string }> {
  try {
    await promise;
  } catch (error) {
    // The SDK's ResponseError is not exported; it is recognised by its status_code.
    const e = error as { status_code?: number; error?: string };
    if (typeof e.status_code === 'number') return { status: e.status_code, error: e.error ?? '' };
    throw error;
  }
  assert.fail('expected the request to fail');
}

describe('model definitions (/api/create, /api/copy, /api/show, /api/delete)', () => {
  const sdk = sdkServer();
  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${sdk.server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.text()).trim() };
  };
  const promptTokens = async (model: string) => (await sdk.ollama.chat({ model, messages: [{ role: 'user', content: 'hello' }], options: { num_predict: 1 } })).prompt_eval_count;

  test('create from a stored model with a system prompt and parameters: listed beside it, shown, and applied on both APIs', async () => {
    const created = await sdk.ollama.create({ model: 'terse', from: 'tiny-llama', system: 'You answer in one word.', parameters: { num_predict: 3, temperature: 0, stop: ['END'] }, stream: false });
    assert.equal(created.status, 'success');
    const names = (await sdk.ollama.list()).models.map((m) => m.name);
    assert.ok(names.includes('terse:latest'), `listed: ${names.join(', ')}`);
    assert.ok(names.includes('tiny-llama'), 'the model under it keeps its own name');
    const show = await sdk.ollama.show({ model: 'terse' });
    assert.equal(show.system, 'You answer in one word.');
    assert.match(show.parameters, /^num_predict\s+3$/m);
    assert.match(show.parameters, /^stop\s+"END"$/m);
    assert.match(show.modelfile, /^FROM tiny-llama$/m);
    assert.match(show.modelfile, /^SYSTEM "You answer in one word\."$/m);
    assert.match(show.modelfile, /^PARAMETER num_predict 3$/m);
    assert.match(show.template, /<\|im_start\|>/, "the model's own template, from its GGUF");
    assert.equal(show.details.parent_model, 'tiny-llama');
    assert.deepEqual(show.capabilities, ['completion', 'embedding']);

    // The system prompt reaches the prompt; num_predict bounds the answer on both APIs; a request's own option wins.
    assert.ok((await promptTokens('terse')) > (await promptTokens('tiny-llama')) + 5, 'the system prompt is in the prompt');
    const chat = await sdk.ollama.chat({ model: 'terse', messages: [{ role: 'user', content: 'hello' }] });
    assert.ok(chat.eval_count <= 3, `num_predict 3 from the definition: ${chat.eval_count}`);
    const openai = await sdk.openai.chat.completions.create({ model: 'terse', messages: [{ role: 'user', content: 'hello' }] });
    assert.ok(openai.usage!.completion_tokens <= 3, `OpenAI too: ${openai.usage!.completion_tokens}`);
    assert.equal(openai.usage!.prompt_tokens, chat.prompt_eval_count, 'the same system prompt on both APIs');
    const longer = await sdk.ollama.chat({ model: 'terse', messages: [{ role: 'user', content: 'hello' }], options: { num_predict: 12 } });
    assert.ok(longer.eval_count > 3, `the request's num_predict wins: ${longer.eval_count}`);
    const own = await sdk.ollama.chat({ model: 'terse', messages: [{ role: 'system', content: 'x' }, { role: 'user', content: 'hello' }], options: { num_predict: 1 } });
    assert.ok(own.prompt_eval_count < (await promptTokens('terse')), "a chat's own system message replaces the definition's");
  });

  test("a template replaces the model's own, and a template with a tool format gives the tools capability", async () => {
    await sdk.ollama.create({ model: 'preamble', from: 'tiny-llama', template: PREAMBLE_TEMPLATE, stream: false });
    assert.ok((await promptTokens('preamble')) >= (await promptTokens('tiny-llama')) + 40, 'the preamble is in every prompt');
    assert.equal((await sdk.ollama.show({ model: 'preamble' })).template, PREAMBLE_TEMPLATE);
    const completion = await sdk.openai.chat.completions.create({ model: 'preamble', messages: [{ role: 'user', content: 'hello' }], max_tokens: 1 });
    assert.ok(completion.usage!.prompt_tokens >= 40, 'OpenAI requests use it too');

    const toolsTemplate = `{% if tools %}Tools: {{ tools | tojson }}\n{% endif %}${PREAMBLE_TEMPLATE}`;
    await sdk.ollama.create({ model: 'with-tools', from: 'tiny-llama', template: toolsTemplate, stream: false });
    assert.ok((await sdk.ollama.show({ model: 'with-tools' })).capabilities.includes('tools'));
    assert.ok(!(await sdk.ollama.show({ model: 'tiny-llama' })).capabilities.includes('tools'));
  });

  test('create over another definition inherits its settings; copy makes another name for the same settings; delete removes only the name', async () => {
    await sdk.ollama.create({ model: 'base-def', from: 'tiny-llama', system: 'Be kind.', parameters: { temperature: 0.5, num_predict: 4 }, stream: false });
    await sdk.ollama.create({ model: 'child-def', from: 'base-def', parameters: { num_predict: 2 }, stream: false });
    const child = await sdk.ollama.show({ model: 'child-def' });
    assert.equal(child.system, 'Be kind.');
    assert.match(child.parameters, /^temperature\s+0\.5$/m);
    assert.match(child.parameters, /^num_predict\s+2$/m);
    assert.equal(child.details.parent_model, 'tiny-llama', 'a definition always points at a stored model');

    await sdk.ollama.copy({ source: 'child-def', destination: 'child-copy:v2' });
    const copy = await sdk.ollama.show({ model: 'child-copy:v2' });
    assert.equal(copy.system, child.system);
    assert.equal(copy.parameters, child.parameters);
    await sdk.ollama.copy({ source: 'tiny-llama', destination: 'plain-copy' });
    assert.ok((await sdk.ollama.list()).models.some((m) => m.name === 'plain-copy:latest'));

    await sdk.ollama.generate({ model: 'tiny-llama', prompt: '' });
    await sdk.ollama.delete({ model: 'child-copy:v2' });
    assert.equal((await status(sdk.ollama.show({ model: 'child-copy:v2' }))).status, 404);
    const names = (await sdk.ollama.list()).models.map((m) => m.name);
    assert.ok(names.includes('tiny-llama') && names.includes('child-def:latest'), 'the model and the other names stay');
    assert.ok((await sdk.ollama.ps()).models.some((m) => m.name === 'tiny-llama'), 'and the model stays loaded');
  });

  test("Ollama's older form: the whole definition as Modelfile text", async () => {
    const modelfile = ['# a comment', 'FROM tiny-llama', 'SYSTEM """Two', 'lines."""', 'PARAMETER stop "<|im_end|>"', 'PARAMETER stop END', 'PARAMETER temperature 0.2', 'PARAMETER penalize_newline false'].join('\n');
    const res = await post('/api/create', { name: 'from-modelfile', modelfile, stream: false });
    assert.equal(res.status, 200, res.body);
    const show = await sdk.ollama.show({ model: 'from-modelfile' });
    assert.equal(show.system, 'Two\nlines.');
    assert.deepEqual(show.parameters.split('\n').filter((l) => l.startsWith('stop')).map((l) => l.replace(/^stop\s+/, '')), ['"<|im_end|>"', '"END"']);
    assert.match(show.parameters, /^penalize_newline\s+false$/m);
  });

  test('a streamed create reports its steps and ends in success', async () => {
    const steps: string[] = [];
    for await (const step of await sdk.ollama.create({ model: 'streamed', from: 'tiny-llama', stream: true })) steps.push(step.status);
    assert.equal(steps.at(-1), 'success');
    assert.ok(steps.length >= 2);
  });

  test('definitions are kept in hearth state: another store on the same home reads them', async () => {
    await sdk.ollama.create({ model: 'kept', from: 'tiny-llama', system: 'kept', stream: false });
    const store = createStore({ config: sdk.server.config });
    try {
      assert.equal(store.definition('kept')?.system, 'kept');
      assert.equal(store.definition('KEPT:latest')?.name, 'kept:latest', 'names are case-insensitive, with :latest implied');
    } finally {
      await store.dispose();
    }
  });

  test('redefining a name moves it to the new model at once', async () => {
    await sdk.ollama.create({ model: 'moving', from: 'tiny-llama', stream: false });
    await sdk.ollama.generate({ model: 'moving', prompt: 'a', options: { num_predict: 1 } });
    await sdk.ollama.create({ model: 'moving', from: 'tiny-bert', stream: false });
    const refused = await status(sdk.ollama.generate({ model: 'moving', prompt: 'a', options: { num_predict: 1 } }));
    assert.equal(refused.status, 400, 'the name now stands for an embedding model');
    assert.ok((await sdk.ollama.embed({ model: 'moving', input: 'a' })).embeddings.length === 1);
  });

  test('bad input: each a clear 400 or 404 naming the field, and nothing is stored', async () => {
    const cases: Array<[unknown, number, RegExp]> = [
      [{ model: 'x', from: 'tiny-llama', template: '{{ .System }} {{ .Prompt }}' }, 400, /template: this is a Go template/],
      [{ model: 'x', from: 'tiny-llama', template: '{% for m in messages %}{{ m.content }}' }, 400, /template: the chat template cannot render a chat/],
      [{ model: 'x', from: 'tiny-llama', parameters: { mirostat: 1 } }, 400, /parameters/],
      [{ model: 'x', from: 'tiny-llama', parameters: { temperature: 'hot' } }, 400, /parameters\.temperature/],
      [{ model: 'x' }, 400, /from: name the model/],
      [{ model: 'x', from: 'no-such-model' }, 404, /no-such-model/],
      [{ model: 'bad/name', from: 'tiny-llama' }, 400, /model: .*bad\/name.* is not a model name/],
      [{ model: 'x', from: 'tiny-llama', files: { 'a.gguf': 'sha256:00' } }, 400, /files/],
      [{ model: 'x', from: 'tiny-llama', quantize: 'q4_K_M' }, 400, /quantize/],
      [{ model: 'x', from: 'tiny-llama', adapters: { 'a.gguf': 'sha256:00' } }, 400, /adapters/],
      [{ model: 'tiny-bert', from: 'tiny-llama' }, 400, /alias in the server's configuration/],
      [{ name: 'x', modelfile: 'FROM tiny-llama\nADAPTER ./lora.gguf' }, 400, /line 2: ADAPTER/],
      [{ name: 'x', modelfile: 'FROM tiny-llama\nPARAMETER mirostat 2' }, 400, /modelfile PARAMETER/],
    ];
    for (const [body, code, message] of cases) {
      const res = await post('/api/create', { stream: false, ...(body as object) });
      assert.equal(res.status, code, `${JSON.stringify(body)}: ${res.body}`);
      assert.match(res.body, message, JSON.stringify(body));
    }
    assert.equal((await status(sdk.ollama.show({ model: 'x' }))).status, 404, 'no failed create stored anything');
    assert.equal((await post('/api/copy', { source: 'no-such-model', destination: 'y' })).status, 404);
    assert.match((await post('/api/copy', { source: 'tiny-llama', destination: 'a b' })).body, /destination/);
    assert.match((await post('/api/copy', { source: 'tiny-llama' })).body, /destination/);
  });
});
