import { directGenerate, hearthGenerate, llamaBenchGenerate } from '../measure/generate.js';
import { attempt, type Scenario } from '../scenario.js';

export const g1: Scenario = {
  id: 'G1',
  title: 'one streamed chat through /v1/chat/completions',
  rows: [
    { metric: 'decode tok/s', unit: 'tok/s', hearth: 'hearth', baseline: { key: 'direct', label: 'node-llama-cpp direct, best threads' }, compare: 'ratio', target: { op: '>=', value: 0.95 } },
    { metric: 'decode tok/s', unit: 'tok/s', hearth: 'hearth', baseline: { key: 'bench', label: 'llama-bench tg, best threads' }, compare: 'ratio', target: { op: '>=', value: 1.0 } },
    { metric: 'time to first token', unit: 'ms', hearth: 'hearthTtft', baseline: { key: 'directTtft', label: 'node-llama-cpp direct, best threads' }, compare: 'delta', target: { op: '<=', value: 5 } },
  ],
  async run(ctx) {
    const details: Record<string, unknown> = { model: await ctx.llama() };
    let hearthTtft: number | undefined;
    const hearth = await attempt(async () => {
      const g = await hearthGenerate(ctx, { streams: 1 });
      details.hearthRuntime = g.runtime;
      hearthTtft = g.ttftMs;
      return g.tokPerSec;
    });
    let directTtft: number | undefined;
    const direct = await attempt(async () => {
      const r = await directGenerate(ctx);
      details.direct = r.points;
      directTtft = r.best.ttftMs;
      return r.best.rate;
    });
    const bench = await attempt(async () => {
      const r = await llamaBenchGenerate(ctx);
      details.llamaBench = r.points;
      return r.best.tokPerSec;
    });
    return {
      values: { hearth, direct, bench, hearthTtft: hearthTtft ?? hearth, directTtft: directTtft ?? direct },
      details,
    };
  },
};
