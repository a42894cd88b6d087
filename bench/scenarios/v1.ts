import { join } from 'node:path';
import type { RunContext } from '../context.js';
import { tamedEnv } from '../env.js';
import { CHILD_OVERHEAD_MS } from '../measure/children.js';
import { REPO_ROOT } from '../paths.js';
import { runChild } from '../proc/child.js';
import type { VariantEmbedInput, VariantEmbedOutput } from '../children/variant-embed.js';
import { runnableCpuVariants, variantFeatures } from '../../src/runtime/llama/cpu-variants.js';
import { unavailable, type RowSpec, type Scenario, type Value } from '../scenario.js';
import { cosine } from '../../test/support/assertions.js';

const CHILD_SCRIPT = join(REPO_ROOT, 'bench', 'children', 'variant-embed.ts');
/** --quick checks the harness on the portable floor only. */
const QUICK_VARIANTS = ['sse42'];
/** Vectors kept per variant for the cosine against auto. */
const COSINE_TEXTS = 16;

/** The variants this machine can run, read when the harness starts (the rows depend on the CPU), widest first. */
const VARIANTS = runnableCpuVariants().sort((a, b) => (variantFeatures(b)?.length ?? 0) - (variantFeatures(a)?.length ?? 0) || a.localeCompare(b));

/**
 * Portable mode's cost: embeddings throughput of the GGUF bert with `HEARTH_CPU_VARIANT` pinned to
 * each variant this CPU runs, against `auto`, every configuration in its own process (the variant is
 * chosen once per process), 1 thread, one text per call. auto runs between the variants (auto, v1,
 * auto, v2, ..., auto), and each variant's baseline is the mean of the two auto runs around it, so a
 * change in the host's load over the repeat falls on both sides of each ratio.
 */
export const v1: Scenario = {
  id: 'V1',
  title: 'embeddings per pinned CPU variant (HEARTH_CPU_VARIANT) vs auto, GGUF bert, 1 thread',
  rows: VARIANTS.map(
    (variant): RowSpec => ({ metric: `texts/s, ${variant}`, unit: 'texts/s', hearth: variant, baseline: { key: `auto:${variant}`, label: 'auto, runs before and after' }, compare: 'ratio', note: 'portable mode cost' }),
  ),
  async run(ctx) {
    const model = await ctx.bert();
    const values: Record<string, Value> = {};
    const cosines: Record<string, number> = {};
    const autoRuns: Array<number | string> = [];
    const measured = VARIANTS.filter((v) => !ctx.options.quick || QUICK_VARIANTS.includes(v));
    for (const variant of VARIANTS) if (!measured.includes(variant)) values[variant] = values[`auto:${variant}`] = unavailable('not measured in --quick');
    let before = await measure(ctx, model, 'auto');
    const autoVariant = before instanceof Error ? null : before.cpuVariant;
    autoRuns.push(rateOrReason(before));
    for (const variant of measured) {
      const out = await measure(ctx, model, variant);
      const after = await measure(ctx, model, 'auto');
      autoRuns.push(rateOrReason(after));
      const autos = [before, after].filter((r): r is VariantEmbedOutput => !(r instanceof Error));
      values[`auto:${variant}`] = autos.length > 0 ? autos.reduce((a, r) => a + r.rate, 0) / autos.length : unavailable(`failed: ${String(rateOrReason(after))}`);
      if (out instanceof Error) values[variant] = unavailable(`failed: ${out.message.split('\n')[0]}`);
      else if (out.cpuVariant !== variant) values[variant] = unavailable(`failed: pinned ${variant} but ${out.cpuVariant} loaded`);
      else {
        values[variant] = out.rate;
        const reference = autos[0];
        if (reference) cosines[variant] = minCosine(out.vectors, reference.vectors);
      }
      before = after;
    }
    return { values, details: { autoVariant, autoRuns, minCosineVsAuto: cosines } };
  },
};

function rateOrReason(run: VariantEmbedOutput | Error): number | string {
  return run instanceof Error ? run.message.split('\n')[0]! : run.rate;
}

async function measure(ctx: RunContext, model: string, variant: string): Promise<VariantEmbedOutput | Error> {
  ctx.log(`  ${variant === 'auto' ? 'auto' : `HEARTH_CPU_VARIANT=${variant}`}, 1 thread`);
  const input: VariantEmbedInput = {
    model,
    variant,
    home: await ctx.tempDir(`v1-${variant}`),
    threads: 1,
    texts: ctx.texts,
    maxTexts: ctx.profile.maxTexts,
    timeLimitMs: ctx.profile.measureMs,
    keepVectors: COSINE_TEXTS,
  };
  try {
    return await runChild<VariantEmbedInput, VariantEmbedOutput>(CHILD_SCRIPT, input, { env: tamedEnv(), timeoutMs: ctx.profile.measureMs + CHILD_OVERHEAD_MS });
  } catch (error) {
    return error as Error;
  }
}

/** The smallest cosine between the same texts' vectors from two runs (the tests' own cosine, not the runtime's). */
function minCosine(a: number[][], b: number[][]): number {
  return Math.min(1, ...a.map((x, i) => cosine(x, b[i]!)));
}
