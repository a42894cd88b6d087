import { directEmbedSweep } from '../measure/embed-direct.js';
import { attempt, type Scenario } from '../scenario.js';
import { e1Session } from './e1.js';

export const e2: Scenario = {
  id: 'E2',
  title: 'one /v1/embeddings call carrying 256 texts',
  rows: [{ metric: 'texts/s', unit: 'texts/s', hearth: 'hearth', baseline: { key: 'b', label: '(b) node-llama-cpp best sweep' }, compare: 'ratio', target: { op: '>=', value: 0.9 } }],
  async run(ctx) {
    const details: Record<string, unknown> = {};
    const values = {
      hearth: await attempt(async () => {
        const s = await e1Session(ctx);
        if (!s.batch) throw new Error('no batch measurement');
        details.callTimesMs = s.batch.timesMs;
        return s.batch.rate;
      }),
      b: await attempt(async () => (await directEmbedSweep(ctx, await ctx.bert())).best.rate),
    };
    return { values, details };
  },
};
