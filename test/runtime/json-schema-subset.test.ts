import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isHearthError } from '../../src/errors/index.js';
import { grammarSchema } from '../../src/runtime/json-schema-subset.js';

/** The 400 for `schema`, with the field it names. */
function refusal(schema: unknown): { field: string; message: string } {
  try {
    grammarSchema(schema, 'format');
  } catch (error) {
    assert.ok(isHearthError(error, 'USAGE'), String(error));
    return { field: (error.details as { field: string }).field, message: error.message };
  }
  assert.fail(`expected ${JSON.stringify(schema)} to be refused`);
}

describe('the JSON Schema subset a grammar enforces', () => {
  test('objects, arrays, enums, constants, strings with lengths and formats translate as they are; annotations other than description are dropped', () => {
    const schema = {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      title: 'Person',
      type: 'object',
      properties: {
        name: { type: 'string', minLength: 1, maxLength: 20, description: 'their name' },
        born: { type: 'string', format: 'date' },
        mood: { enum: ['happy', 'sad', null] },
        kind: { const: 'person' },
        tags: { type: 'array', items: { type: 'string', maxLength: 5 }, minItems: 1, maxItems: 3 },
        pair: { type: 'array', prefixItems: [{ type: 'number' }, { type: 'boolean' }], maxItems: 2 },
        extra: { type: 'object', additionalProperties: { type: 'integer' }, maxProperties: 2 },
      },
      required: ['name', 'mood'],
      additionalProperties: false,
    };
    assert.deepEqual(grammarSchema(schema, 'format'), {
      type: 'object',
      properties: {
        name: { type: 'string', minLength: 1, maxLength: 20, description: 'their name' },
        born: { type: 'string', format: 'date' },
        mood: { enum: ['happy', 'sad', null] },
        kind: { const: 'person' },
        tags: { type: 'array', items: { type: 'string', maxLength: 5 }, minItems: 1, maxItems: 3 },
        pair: { type: 'array', prefixItems: [{ type: 'number' }, { type: 'boolean' }], maxItems: 2 },
        extra: { type: 'object', properties: {}, additionalProperties: { type: 'integer' }, maxProperties: 2 },
      },
    });
  });

  test('integer bounds become the list of integers between them', () => {
    assert.deepEqual(grammarSchema({ type: 'integer', minimum: 1, maximum: 5 }, 'f'), { enum: [1, 2, 3, 4, 5] });
    assert.deepEqual(grammarSchema({ type: 'integer', exclusiveMinimum: 0, exclusiveMaximum: 3 }, 'f'), { enum: [1, 2] });
    assert.deepEqual(grammarSchema({ type: 'integer', minimum: 0.5, maximum: 2.5 }, 'f'), { enum: [1, 2] });
  });

  test('type arrays, anyOf, oneOf, $defs and definitions references become alternatives and references', () => {
    assert.deepEqual(grammarSchema({ type: ['string', 'null'], maxLength: 3 }, 'f'), { oneOf: [{ type: 'string', maxLength: 3 }, { type: 'null' }] });
    assert.deepEqual(grammarSchema({ type: ['integer', 'number'] }, 'f'), { type: 'number' });
    assert.deepEqual(grammarSchema({ anyOf: [{ type: 'string' }, { type: 'integer' }] }, 'f'), { oneOf: [{ type: 'string' }, { type: 'integer' }] });
    // oneOf needs alternatives no value can match twice: different types, or objects told apart by a constant.
    assert.deepEqual(grammarSchema({ oneOf: [{ type: 'string' }, { type: 'null' }] }, 'f'), { oneOf: [{ type: 'string' }, { type: 'null' }] });
    const tagged = { oneOf: [{ type: 'object', properties: { kind: { const: 'a' }, x: { type: 'number' } } }, { type: 'object', properties: { kind: { enum: ['b'] } } }] };
    assert.deepEqual(grammarSchema(tagged, 'f'), tagged);
    assert.deepEqual(grammarSchema({ type: 'object', properties: { a: { $ref: '#/definitions/n' } }, definitions: { n: { type: 'number' } } }, 'f'), {
      type: 'object',
      properties: { a: { $ref: '#/$defs/n' } },
      $defs: { n: { type: 'number' } },
    });
  });

  test('a keyword the grammar cannot enforce is a 400 that names the field and the keyword', () => {
    const cases: Array<[unknown, string]> = [
      [{ type: 'string', pattern: '^a+$' }, 'format.pattern'],
      [{ type: 'object', properties: { n: { type: 'number', minimum: 0 } } }, 'format.properties.n.minimum'],
      [{ type: 'integer', minimum: 0 }, 'format.minimum'],
      [{ type: 'integer', minimum: 0, maximum: 1000 }, 'format.minimum'],
      [{ type: 'number', multipleOf: 2 }, 'format.multipleOf'],
      [{ allOf: [{ type: 'string' }] }, 'format.allOf'],
      [{ not: { type: 'string' } }, 'format.not'],
      [{ type: 'array', uniqueItems: true }, 'format.uniqueItems'],
      [{ type: 'string', format: 'email' }, 'format.format'],
      [{ type: 'object', properties: { a: { type: 'string' } }, required: ['b'] }, 'format.required'],
      [{ type: 'object', properties: { a: { type: 'string' }, b: { type: 'string' } }, maxProperties: 1 }, 'format.maxProperties'],
      [{ type: 'array', prefixItems: [{ type: 'string' }, { type: 'string' }], maxItems: 1 }, 'format.maxItems'],
      [{ $ref: 'https://example.com/schema.json' }, 'format.$ref'],
      [{ $ref: '#/$defs/missing' }, 'format.$ref'],
      [{ type: 'strings' }, 'format.type'],
      [{ enum: [{ a: 1 }] }, 'format.enum.0'],
      [{ type: 'object', properties: { a: 'not a schema' } }, 'format.properties.a'],
      [{ type: 'string', minLength: 4, maxLength: 2 }, 'format.minLength'],
      [{ oneOf: [{ type: 'number' }, { type: 'integer' }] }, 'format.oneOf'],
      [{ oneOf: [{ type: 'object', properties: { a: { type: 'string' } } }, { type: 'object', properties: { b: { type: 'string' } } }] }, 'format.oneOf'],
    ];
    for (const [schema, field] of cases) {
      const { field: named, message } = refusal(schema);
      assert.equal(named, field, `${JSON.stringify(schema)}: ${message}`);
      assert.ok(message.includes(field), message);
    }
  });
});
