import { hearthEmbed } from '../measure/hearth-embed.js';
import { llamaServerEmbed } from '../measure/llama-server-embed.js';
import { ortEmbed, transformersEmbed } from '../measure/onnx-embed.js';
import { attempt, type Scenario } from '../scenario.js';

/**
 * E1's load on the ONNX export of the MiniLM-shaped bert, served by hearth's
 * ONNX backend through an alias to the model folder, against raw
 * onnxruntime-node (d), the transformers.js pipeline (e), and llama-server on
 * the GGUF bert of the same shape (c, shared with E1).
 */
export const e3: Scenario = {
  id: 'E3',
  title: 'E1 on the ONNX model through the ONNX backend',
  rows: [
    { metric: 'texts/s', unit: 'texts/s', hearth: 'hearth', baseline: { key: 'd', label: '(d) onnxruntime-node best threads×batch' }, compare: 'ratio', target: { op: '>=', value: 0.9 } },
    { metric: 'texts/s', unit: 'texts/s', hearth: 'hearth', baseline: { key: 'e', label: '(e) transformers.js pipeline best batch' }, compare: 'ratio', target: { op: '>=', value: 1.4 } },
    { metric: 'texts/s', unit: 'texts/s', hearth: 'hearth', baseline: { key: 'c', label: '(c) llama-server best (GGUF, same shape)' }, compare: 'ratio', target: { op: '>=', value: 2.0 } },
  ],
  async run(ctx) {
    const details: Record<string, unknown> = {};
    const c = await attempt(async () => {
      const r = await llamaServerEmbed(ctx, await ctx.bert(), ctx.profile.bert.context ?? 512);
      details.llamaServer = r.points;
      return r.best.rate;
    });
    const hearth = await attempt(async () => {
      const s = await hearthEmbed(ctx, { model: await ctx.bertOnnx() });
      Object.assign(details, { hearthRuntime: s.runtime, hearthTokensPerText: s.load.tokensPerText });
      return s.load.rate;
    });
    const d = await attempt(async () => {
      const r = await ortEmbed(ctx, await ctx.bertOnnx());
      details.ort = r.points;
      return r.best.rate;
    });
    const e = await attempt(async () => {
      const r = await transformersEmbed(ctx, await ctx.bertOnnx());
      details.transformers = r.points;
      return r.best.rate;
    });
    return { values: { hearth, d, e, c }, details };
  },
};
