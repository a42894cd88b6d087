import type { RunContext } from '../context.js';
import { untamedEnv } from '../env.js';
import type { OrtEmbedInput, OrtPoint } from '../children/ort-embed.js';
import type { TransformersEmbedInput } from '../children/transformers-embed.js';
import { runChild } from '../proc/child.js';
import { CHILD, CHILD_OVERHEAD_MS } from './children.js';

/**
 * E3's ONNX baselines on the same texts, each thread count in a fresh process
 * in a plain environment (ONNX Runtime has its own thread pool):
 * (d) raw onnxruntime-node, threads × batch; (e) the transformers.js pipeline, by batch.
 */
export interface Best {
  best: { rate: number; threads?: number; batch: number };
  points: Array<{ rate: number; threads?: number; batch: number }>;
}

export function ortEmbed(ctx: RunContext, dir: string): Promise<Best> {
  return ctx.shared(`ort-embed:${dir}`, async () => {
    const points: OrtPoint[] = [];
    for (const threads of ctx.profile.ortThreads) {
      ctx.log(`  (d) onnxruntime-node, ${threads} intra-op thread(s), batch ${ctx.profile.ortBatches.join('/')}`);
      const input: OrtEmbedInput = { dir, threads, batches: ctx.profile.ortBatches, texts: ctx.texts, maxTexts: ctx.profile.maxTexts, timeLimitMs: ctx.profile.measureMs };
      const timeoutMs = ctx.profile.measureMs * ctx.profile.ortBatches.length + CHILD_OVERHEAD_MS;
      points.push(...(await runChild<OrtEmbedInput, OrtPoint[]>(CHILD.ortEmbed, input, { env: untamedEnv(), timeoutMs })));
    }
    return { best: points.reduce((a, b) => (b.rate > a.rate ? b : a)), points };
  });
}

export function transformersEmbed(ctx: RunContext, dir: string): Promise<Best> {
  return ctx.shared(`transformers-embed:${dir}`, async () => {
    ctx.log(`  (e) transformers.js pipeline, batch ${ctx.profile.transformersBatches.join('/')}`);
    const input: TransformersEmbedInput = { dir, batches: ctx.profile.transformersBatches, texts: ctx.texts, maxTexts: ctx.profile.maxTexts, timeLimitMs: ctx.profile.measureMs };
    const timeoutMs = ctx.profile.measureMs * ctx.profile.transformersBatches.length + CHILD_OVERHEAD_MS;
    const points = await runChild<TransformersEmbedInput, Array<{ batch: number; rate: number }>>(CHILD.transformersEmbed, input, { env: untamedEnv(), timeoutMs });
    return { best: points.reduce((a, b) => (b.rate > a.rate ? b : a)), points };
  });
}
