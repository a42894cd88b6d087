import type { RunContext } from '../context.js';
import { directEmbedDefaults, directEmbedSweep } from '../measure/embed-direct.js';
import { hearthEmbed } from '../measure/hearth-embed.js';
import { llamaServerEmbed } from '../measure/llama-server-embed.js';
import { attempt, type Scenario } from '../scenario.js';

/** The hearth session E1, E2, H1 and T1 share: auto-tuned, with the /health sampler and the 256-text call. */
export async function e1Session(ctx: RunContext) {
  return hearthEmbed(ctx, { model: await ctx.bert(), health: true, batch: true });
}

export const e1: Scenario = {
  id: 'E1',
  title: '/v1/embeddings, 16 concurrent clients, one ~20-token text each (GGUF bert)',
  rows: [
    { metric: 'texts/s', unit: 'texts/s', hearth: 'hearth', baseline: { key: 'b', label: '(b) node-llama-cpp best sweep' }, compare: 'ratio', target: { op: '>=', value: 0.9 } },
    { metric: 'texts/s', unit: 'texts/s', hearth: 'hearth', baseline: { key: 'a', label: '(a) node-llama-cpp defaults' }, compare: 'ratio', target: { op: '>=', value: 20 } },
    { metric: 'texts/s', unit: 'texts/s', hearth: 'hearth', baseline: { key: 'c', label: '(c) llama-server best -t/-np' }, compare: 'ratio', target: { op: '>=', value: 1.0 }, note: 'moonshot' },
  ],
  async run(ctx) {
    const model = await ctx.bert();
    const details: Record<string, unknown> = {};
    const values = {
      hearth: await attempt(async () => {
        const s = await e1Session(ctx);
        Object.assign(details, { hearthRuntime: s.runtime, hearthTokensPerText: s.load.tokensPerText, hearthLatencyP50Ms: s.load.latencyP50Ms, hearthLatencyP99Ms: s.load.latencyP99Ms, hearthRequests: s.load.requests });
        return s.load.rate;
      }),
      a: await attempt(async () => {
        const r = await directEmbedDefaults(ctx, model);
        details.defaults = r;
        return r.rate;
      }),
      b: await attempt(async () => {
        const r = await directEmbedSweep(ctx, model);
        details.sweep = r.points;
        return r.best.rate;
      }),
      c: await attempt(async () => {
        const r = await llamaServerEmbed(ctx, model, ctx.profile.bert.context ?? 512);
        details.llamaServer = r.points;
        return r.best.rate;
      }),
    };
    return { values, details };
  },
};
