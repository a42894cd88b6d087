import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isHearthError } from '../../src/errors/index.js';
import { modelParameters } from '../../src/store/index.js';
import { parseModelfile, renderModelfile, renderParameters } from '../../src/store/modelfile.js';

describe('Modelfile', () => {
  test('reads every value form, comments, blank lines and repeated stops, case-insensitively', () => {
    const text = [
      '# made by hand',
      '',
      'from hf:owner/repo:Q4_K_M',
      'TEMPLATE """{% for m in messages %}',
      '{{ m.content }}{% endfor %}"""',
      'SYSTEM "You are \\"kind\\"."',
      'PARAMETER temperature 0.7',
      'PARAMETER Stop <|im_end|>',
      'PARAMETER stop "END"',
      'PARAMETER penalize_newline false',
      'LICENSE MIT',
    ].join('\r\n');
    const content = parseModelfile(text);
    assert.equal(content.from, 'hf:owner/repo:Q4_K_M');
    assert.equal(content.template, '{% for m in messages %}\n{{ m.content }}{% endfor %}');
    assert.equal(content.system, 'You are "kind".');
    assert.equal(content.license, 'MIT');
    assert.deepEqual(modelParameters.parse(content.parameters), { temperature: 0.7, stop: ['<|im_end|>', 'END'], penalize_newline: false });
  });

  test('what it writes reads back the same', () => {
    const parameters = modelParameters.parse({ temperature: 0.2, stop: ['a', 'b"c'], num_ctx: 2048 });
    const written = renderModelfile('tiny:latest', { template: 'line one\nline "two"', system: 'short', parameters, license: 'MIT' });
    const read = parseModelfile(written);
    assert.equal(read.from, 'tiny:latest');
    assert.equal(read.template, 'line one\nline "two"');
    assert.equal(read.system, 'short');
    assert.deepEqual(modelParameters.parse(read.parameters), parameters);
    assert.equal(renderParameters(parameters), ['num_ctx                        2048', 'temperature                    0.2', 'stop                           "a"', 'stop                           "b\\"c"'].join('\n'));
  });

  test('what hearth cannot honour, or cannot read, is a USAGE error naming the line', () => {
    for (const [text, message] of [
      ['FROM x\nADAPTER ./lora.gguf', /line 2: ADAPTER: LoRA adapters are not supported/],
      ['FROM x\nMESSAGE user hi', /line 2: MESSAGE/],
      ['FROM x\n\nFOO bar', /line 3: unknown instruction FOO/],
      ['FROM x\nSYSTEM """never closed', /line 2: a """ value is never closed/],
      ['FROM x\nPARAMETER temperature', /line 2: PARAMETER needs a name and a value/],
      ['= x', /line 1: expected an instruction/],
    ] as const) {
      assert.throws(
        () => parseModelfile(text),
        (error: unknown) => isHearthError(error, 'USAGE') && message.test(error.message),
        text,
      );
    }
  });
});
