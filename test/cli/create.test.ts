import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runHearth } from '../support/hearth-cli.js';
import { writeLlamaFixture } from '../support/gguf-fixtures.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';

/** `hearth create` from a local GGUF and a Modelfile, `hearth cp`, and `hearth rm` of a definition, as a user runs them. */
describe('hearth create, cp and rm of a definition', () => {
  let box: Sandbox;
  let env: Record<string, string>;
  const hearth = (...args: string[]) => runHearth(args, env);
  before(async () => {
    box = await createSandbox();
    env = box.env({ HEARTH_THREADS: '1' });
    await writeLlamaFixture(join(box.root, 'tiny.gguf'), { seed: 5, context: 4096 });
    await writeFile(join(box.root, 'chat.jinja'), '{% for m in messages %}<|{{ m.role }}|>{{ m.content }}\n{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}');
    await writeFile(join(box.root, 'go.tmpl'), '{{ if .System }}{{ .System }}{{ end }}{{ .Prompt }}');
    await writeFile(join(box.root, 'Modelfile'), ['FROM ./tiny.gguf', 'SYSTEM You are brief.', 'PARAMETER num_predict 2', 'PARAMETER temperature 0'].join('\n'));
  });
  after(() => box.cleanup());

  test('create from a local GGUF through a Modelfile: the file is registered where it is, and run applies the definition', async () => {
    const created = await hearth('create', 'brief', '-f', join(box.root, 'Modelfile'), '--template', join(box.root, 'chat.jinja'), '-p', 'stop=END', '--json');
    assert.equal(created.code, 0, created.stderr);
    const definition = JSON.parse(created.stdout) as { name: string; from: string; system: string; template: string; parameters: Record<string, unknown> };
    assert.equal(definition.name, 'brief:latest');
    assert.equal(definition.from, join(box.root, 'tiny.gguf'), "a relative FROM is the Modelfile's");
    assert.equal(definition.system, 'You are brief.');
    assert.match(definition.template, /<\|assistant\|>/);
    assert.deepEqual(definition.parameters, { num_predict: 2, temperature: 0, stop: ['END'] });

    const ls = await hearth('ls');
    assert.match(ls.stdout, /^brief:latest\s+definition over tiny:latest/m, ls.stdout);
    assert.match(ls.stdout, /^tiny:latest\s/m, 'the model keeps its own line');

    // Without a template of its own (node-llama-cpp's Jinja wrapper does not count the leading whitespace it trims toward maxTokens).
    assert.equal((await hearth('create', 'brief-plain', '-f', join(box.root, 'Modelfile'))).code, 0);
    const run = await hearth('run', 'brief-plain', 'hello', '--verbose');
    assert.equal(run.code, 0, run.stderr);
    const tokens = Number(/completion tokens: (\d+)/.exec(run.stderr)?.[1]);
    assert.ok(tokens <= 2, `num_predict 2 from the definition: ${run.stderr}`);
  });

  test('cp makes another name; rm of a definition removes only the name', async () => {
    assert.equal((await hearth('cp', 'brief', 'brief-copy:v1')).code, 0);
    const rm = await hearth('rm', 'brief-copy:v1');
    assert.equal(rm.code, 0, rm.stderr);
    assert.match(rm.stdout, /removed brief-copy:v1 \(0 B freed\)/);
    const gone = await hearth('run', 'brief-copy:v1', 'x');
    assert.equal(gone.code, 64, gone.stderr);
    assert.equal((await hearth('run', 'brief', 'x')).code, 0, 'the definition it was copied from stays');
  });

  test('bad input: typed errors, exit 64, nothing stored', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['create', 'x', '--from', join(box.root, 'tiny.gguf'), '-p', 'mirostat=1'], /parameters: Unrecognized key/],
      [['create', 'x', '--from', join(box.root, 'tiny.gguf'), '-p', 'temperature'], /expected name=value/],
      [['create', 'x', '--from', join(box.root, 'tiny.gguf'), '--template', join(box.root, 'go.tmpl')], /Go template/],
      [['create', 'x'], /needs a model to start from/],
      [['create', 'bad/name', '--from', join(box.root, 'tiny.gguf')], /not a model name/],
    ];
    for (const [args, message] of cases) {
      const r = await hearth(...args);
      assert.equal(r.code, 64, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
    }
    assert.doesNotMatch((await hearth('ls')).stdout, /^x:latest/m);
  });
});
