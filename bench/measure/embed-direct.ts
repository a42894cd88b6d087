import type { RunContext } from '../context.js';
import { tamedEnv, untamedEnv } from '../env.js';
import { runChild } from '../proc/child.js';
import type { LlamaEmbedInput, LlamaEmbedOutput } from '../children/llama-embed.js';
import { CHILD, CHILD_OVERHEAD_MS } from './children.js';
import { sweep, type SweepResult } from './sweep.js';

/**
 * node-llama-cpp used directly on the bert, each configuration in a fresh
 * process: (a) the library's defaults in an untamed environment, and (b) the
 * best of the threads × contexts sweep in the tamed environment.
 */
export function directEmbedDefaults(ctx: RunContext, model: string): Promise<LlamaEmbedOutput> {
  return ctx.shared(`direct-embed-defaults:${model}`, async () => {
    ctx.log('  (a) node-llama-cpp defaults, untamed');
    const input: LlamaEmbedInput = { model, mode: 'defaults', texts: ctx.texts, maxTexts: ctx.profile.maxTexts, timeLimitMs: ctx.profile.defaultsMs };
    return runChild<LlamaEmbedInput, LlamaEmbedOutput>(CHILD.llamaEmbed, input, { env: untamedEnv(), timeoutMs: ctx.profile.defaultsMs + CHILD_OVERHEAD_MS });
  });
}

export function directEmbedSweep(ctx: RunContext, model: string): Promise<SweepResult<{ threads: number; contexts: number }>> {
  return ctx.shared(`direct-embed-sweep:${model}`, async () => {
    return sweep(ctx.profile.embedSweep, async ({ threads, contexts }) => {
      ctx.log(`  (b) node-llama-cpp tamed, ${threads} thread(s) × ${contexts} context(s)`);
      const input: LlamaEmbedInput = { model, mode: 'configured', threads, contexts, texts: ctx.texts, maxTexts: ctx.profile.maxTexts, timeLimitMs: ctx.profile.measureMs };
      const out = await runChild<LlamaEmbedInput, LlamaEmbedOutput>(CHILD.llamaEmbed, input, { env: tamedEnv(), timeoutMs: ctx.profile.measureMs + CHILD_OVERHEAD_MS });
      return out.rate;
    });
  });
}
