import { hearthGenerate } from '../measure/generate.js';
import { attempt, type Scenario } from '../scenario.js';

/**
 * A schema that keeps the model writing structure for the whole answer (at
 * least 40 records of a string, a bounded integer and an enum), so that every
 * token of the measured window passes through the grammar, not just a
 * short object before the end.
 */
export const G3_SCHEMA = {
  type: 'object',
  properties: {
    people: {
      type: 'array',
      minItems: 40,
      items: {
        type: 'object',
        properties: { name: { type: 'string', maxLength: 16 }, age: { type: 'integer', minimum: 0, maximum: 99 }, mood: { enum: ['happy', 'sad', 'calm', 'angry'] } },
        required: ['name', 'age', 'mood'],
      },
    },
  },
  required: ['people'],
};

/**
 * Grammar-constrained generation (issue 15): one streamed chat through
 * /v1/chat/completions with `response_format` json_schema, against the same
 * chat unconstrained on the same server configuration (G1's hearth run,
 * shared when both are selected). llama.cpp checks every candidate token
 * against the grammar, a known cost in its issues: this measures it.
 */
export const g3: Scenario = {
  id: 'G3',
  title: 'schema-constrained generation through /v1/chat/completions',
  rows: [
    { metric: 'decode tok/s, json_schema', unit: 'tok/s', hearth: 'constrained', baseline: { key: 'free', label: 'the same chat without a schema' }, compare: 'ratio', note: 'reported' },
    { metric: 'time to first token, json_schema', unit: 'ms', hearth: 'constrainedTtft', baseline: { key: 'freeTtft', label: 'the same chat without a schema' }, compare: 'delta', note: 'reported' },
  ],
  async run(ctx) {
    const details: Record<string, unknown> = { model: await ctx.llama(), schema: G3_SCHEMA };
    let freeTtft: number | undefined;
    const free = await attempt(async () => {
      const g = await hearthGenerate(ctx, { streams: 1 });
      freeTtft = g.ttftMs;
      return g.tokPerSec;
    });
    let constrainedTtft: number | undefined;
    const constrained = await attempt(async () => {
      const g = await hearthGenerate(ctx, { streams: 1, responseFormat: { name: 'g3-schema', value: { type: 'json_schema', json_schema: { name: 'people', schema: G3_SCHEMA } } } });
      constrainedTtft = g.ttftMs;
      return g.tokPerSec;
    });
    return { values: { free, constrained, freeTtft: freeTtft ?? free, constrainedTtft: constrainedTtft ?? constrained }, details };
  },
};
