import { readCpuFlags, runnableCpuVariants, variantFeatures } from '../../src/runtime/llama/cpu-variants.js';
import { compareProbes, SpaceRegistry } from '../../src/spaces/index.js';
import { judge } from '../../src/spaces/contract.js';
import { join } from 'node:path';
import { spaceCli, spaceEnv } from '../measure/space-cli.js';
import { unavailable, type Scenario, type Value } from '../scenario.js';

/** The variants this CPU runs, narrowest first. */
const VARIANTS = runnableCpuVariants(readCpuFlags()).sort((a, b) => (variantFeatures(a)?.length ?? 0) - (variantFeatures(b)?.length ?? 0) || a.localeCompare(b));
/** --quick checks the harness on the two ends only. */
const quickVariants = (all: string[]) => (all.length > 2 ? [all[0]!, all.at(-1)!] : all);

/**
 * The incident's numbers: the MiniLM-shaped GGUF bert's probe vectors under
 * every ggml CPU variant this machine runs (one `hearth space create` per
 * variant, pinned with HEARTH_CPU_VARIANT, 1 thread), compared pairwise with
 * the space check's own measures. The worst pair is reported; every pair's
 * min, mean and p5 cosine, max coordinate difference, rank tau and the verdict
 * the tolerance contract gives are in the details.
 */
export const sp2: Scenario = {
  id: 'SP2',
  title: 'Probe agreement between CPU variants (GGUF bert, pinned per process)',
  rows: [
    { metric: 'worst pair: min probe cosine', unit: 'cosine', hearth: 'min', compare: 'value', target: { op: '>=', value: 0.9995 } },
    { metric: 'worst pair: rank tau', unit: 'tau', hearth: 'tau', compare: 'value', target: { op: '>=', value: 0.99 } },
    { metric: 'worst pair: max coordinate difference', unit: 'abs', hearth: 'maxAbsDiff', compare: 'value', note: 'identical needs ≤ 1e-6' },
  ],
  async run(ctx) {
    const variants = ctx.options.quick ? quickVariants(VARIANTS) : VARIANTS;
    if (variants.length < 2) {
      const none = unavailable(`only ${variants.join(', ') || 'no variant'} runs on this CPU`);
      return { values: { min: none, tau: none, maxAbsDiff: none }, details: { variants } };
    }
    const home = await ctx.tempDir('spaces-variants');
    const model = await ctx.bert();
    for (const variant of variants) {
      await spaceCli(ctx.options.entry, ['create', variant, '--model', model], spaceEnv(home, { HEARTH_THREADS: '1', HEARTH_CPU_VARIANT: variant }));
    }
    const registry = new SpaceRegistry(join(home, 'spaces'));
    const records = await Promise.all(variants.map((v) => registry.get(v)));
    const pairs: Array<Record<string, unknown>> = [];
    let min = 1;
    let tau = 1;
    let maxAbsDiff = 0;
    for (let i = 0; i < records.length; i++) {
      for (let j = i + 1; j < records.length; j++) {
        const a = compareProbes(records[i]!.probeVectors, records[j]!.probeVectors);
        min = Math.min(min, a.min);
        tau = Math.min(tau, a.rankTau);
        maxAbsDiff = Math.max(maxAbsDiff, a.maxAbsDiff);
        pairs.push({
          pair: `${records[i]!.runtime.cpuVariant} / ${records[j]!.runtime.cpuVariant}`,
          min: a.min,
          mean: a.mean,
          p5: a.p5,
          maxAbsDiff: a.maxAbsDiff,
          rankTau: a.rankTau,
          top5Overlap: a.top5Overlap,
          verdict: judge({ modelDiff: [], agreement: a }).verdict,
        });
      }
    }
    const values: Record<string, Value> = { min, tau, maxAbsDiff };
    return { values, details: { variants, pairs } };
  },
};
