import { hearthEmbed } from '../measure/hearth-embed.js';
import { hearthGenerate } from '../measure/generate.js';
import { attempt, isNumber, unavailable, type Scenario, type Value } from '../scenario.js';
import { e1Session } from './e1.js';

/**
 * Auto-tuned hearth (fresh HEARTH_HOME, so it really measures) against the
 * best fixed HEARTH_THREADS from the sweep, on the same workload: E1's
 * embedding load, and G1's single chat stream.
 */
export const t1: Scenario = {
  id: 'T1',
  title: 'auto-tuned configuration vs the best fixed HEARTH_THREADS',
  rows: [
    { metric: 'embeddings texts/s', unit: 'texts/s', hearth: 'autoEmbed', baseline: { key: 'fixedEmbed', label: 'best fixed HEARTH_THREADS' }, compare: 'ratio', target: { op: '>=', value: 0.95 } },
    { metric: 'generation tok/s', unit: 'tok/s', hearth: 'autoGen', baseline: { key: 'fixedGen', label: 'best fixed HEARTH_THREADS' }, compare: 'ratio', target: { op: '>=', value: 0.95 } },
  ],
  async run(ctx) {
    const details: Record<string, unknown> = {};
    const threads = ctx.profile.t1Threads;
    const autoEmbed = await attempt(async () => {
      const s = await e1Session(ctx);
      details.autoEmbedRuntime = s.runtime;
      return s.load.rate;
    });
    const fixedEmbedPoints: Record<string, Value> = {};
    for (const t of threads) fixedEmbedPoints[t] = await attempt(async () => (await hearthEmbed(ctx, { model: await ctx.bert(), threads: t })).load.rate);
    const autoGen = await attempt(async () => {
      const g = await hearthGenerate(ctx, { streams: 1 });
      details.autoGenRuntime = g.runtime;
      return g.tokPerSec;
    });
    const fixedGenPoints: Record<string, Value> = {};
    for (const t of threads) fixedGenPoints[t] = await attempt(async () => (await hearthGenerate(ctx, { threads: t, streams: 1 })).tokPerSec);
    Object.assign(details, { fixedEmbed: fixedEmbedPoints, fixedGen: fixedGenPoints });
    return { values: { autoEmbed, fixedEmbed: best(fixedEmbedPoints), autoGen, fixedGen: best(fixedGenPoints) }, details };
  },
};

function best(points: Record<string, Value>): Value {
  const numbers = Object.values(points).filter(isNumber);
  if (numbers.length > 0) return Math.max(...numbers);
  const first = Object.values(points)[0];
  return first ?? unavailable('no fixed configuration measured');
}
