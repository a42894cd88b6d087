import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { hearthEmbed } from '../measure/hearth-embed.js';
import { llamaServerEmbed } from '../measure/llama-server-embed.js';
import { ortEmbed, transformersEmbed } from '../measure/onnx-embed.js';
import { onnxWriterMissing } from '../models/fixtures.js';
import { REPO_ROOT } from '../paths.js';
import { attempt, unavailable, type Scenario } from '../scenario.js';

/** hearth's ONNX backend; while it is absent, a failure to serve the folder means "pending", not "failed". */
const ONNX_BACKEND = join(REPO_ROOT, 'src', 'runtime', 'onnx');
/** Errors that mean hearth cannot serve an ONNX folder yet, rather than a broken measurement. */
const NO_ONNX_BACKEND = /no backend can load|MODEL_UNSUPPORTED|EISDIR|is a directory|not a (regular )?file|not a GGUF|unsupported/i;

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
    const missing = onnxWriterMissing();
    const c = await attempt(async () => {
      const r = await llamaServerEmbed(ctx, await ctx.bert(), ctx.profile.bert.context ?? 512);
      details.llamaServer = r.points;
      return r.best.rate;
    });
    if (missing) return { values: { hearth: unavailable(missing), d: unavailable(missing), e: unavailable(missing), c }, details };
    const hearth = await attempt(async () => {
      try {
        const s = await hearthEmbed(ctx, { model: await ctx.bertOnnx() });
        Object.assign(details, { hearthRuntime: s.runtime, hearthTokensPerText: s.load.tokensPerText });
        return s.load.rate;
      } catch (error) {
        if (!existsSync(ONNX_BACKEND) || NO_ONNX_BACKEND.test((error as Error).message)) throw new Error(`pending: ONNX backend (${(error as Error).message.split('\n')[0]!.slice(0, 160)})`);
        throw error;
      }
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
