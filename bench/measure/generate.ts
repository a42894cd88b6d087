import { join } from 'node:path';
import type { RunContext } from '../context.js';
import { tamedEnv, untamedEnv } from '../env.js';
import { startHearth } from '../hearth/hearth-server.js';
import type { ChatRun } from '../load/chat-stream.js';
import type { LoadJob } from '../children/load-client.js';
import type { GenerationTiming, LlamaGenerateInput } from '../children/llama-generate.js';
import { llamaBenchTg } from '../peers/llama-bench.js';
import { runChild } from '../proc/child.js';
import { median } from '../stats.js';
import { CHILD } from './children.js';
import { runtimeOf } from './hearth-embed.js';
import { sweep, type SweepResult } from './sweep.js';

/** Generation measurements shared by G1, G2 and T1: hearth over HTTP, node-llama-cpp directly, llama-bench. */
export const GEN_ALIAS = 'bench-llm';
export const GEN_PROMPT = 'Tell me a story about a little girl who found a dog in the park.';
/** hearth's default generation context (src/runtime/llama/llama-model.ts). */
const CONTEXT = 4096;

export interface GenSummary {
  tokPerSec: number;
  ttftMs: number;
  /** G2: all streams' tokens over the wall time. */
  aggregateTokPerSec: number;
}

export interface HearthGenOptions {
  threads?: number;
  /** HEARTH_NUM_PARALLEL; hearth's default (2) when undefined. */
  parallel?: number;
  streams: number;
  /** A response_format every request sends (G3), named in the shared key. */
  responseFormat?: { name: string; value: unknown };
}

export function hearthGenerate(ctx: RunContext, options: HearthGenOptions): Promise<GenSummary & { runtime: unknown }> {
  const key = `hearth-gen:${options.threads ?? 'auto'}:${options.parallel ?? 'default'}:${options.streams}:${options.responseFormat?.name ?? 'text'}`;
  return ctx.shared(key, async () => {
    ctx.log(`  hearth serve, ${options.streams} chat stream(s), ${options.threads === undefined ? 'auto-tuned' : `HEARTH_THREADS=${options.threads}`}${options.parallel ? `, HEARTH_NUM_PARALLEL=${options.parallel}` : ''}`);
    const home = await ctx.tempDir('hearth-gen');
    const env: Record<string, string> = { HEARTH_TUNE_BUDGET: ctx.profile.tuneBudget };
    if (options.threads !== undefined) env.HEARTH_THREADS = String(options.threads);
    if (options.parallel !== undefined) env.HEARTH_NUM_PARALLEL = String(options.parallel);
    const server = await startHearth({ home, hubCache: join(home, 'hub'), aliases: { [GEN_ALIAS]: await ctx.llama() }, preload: [GEN_ALIAS], env, entry: ctx.options.entry, timeoutMs: 300_000 });
    try {
      const runtime = await runtimeOf(server.url);
      const job: LoadJob = {
        kind: 'chat',
        spec: { url: server.url, model: GEN_ALIAS, prompt: GEN_PROMPT, maxTokens: ctx.profile.genTokens, streams: options.streams, runs: ctx.profile.genRuns, warmupRuns: 1, responseFormat: options.responseFormat?.value },
      };
      const runs = await runChild<LoadJob, ChatRun[]>(CHILD.loadClient, job, { env: untamedEnv(), timeoutMs: 600_000 });
      const first = runs.map((r) => r.streams[0]!);
      return {
        tokPerSec: median(first.map((s) => s.tokPerSec)),
        ttftMs: median(first.map((s) => s.ttftMs)),
        aggregateTokPerSec: median(runs.map((r) => r.aggregateTokPerSec)),
        runtime,
      };
    } finally {
      await server.stop();
    }
  });
}

/** node-llama-cpp used directly, tamed, one stream, at each thread count; best tok/s, and its TTFT. */
export function directGenerate(ctx: RunContext): Promise<SweepResult<{ threads: number; ttftMs: number }>> {
  return ctx.shared('direct-gen', async () => {
    const model = await ctx.llama();
    const ttft = new Map<number, number>();
    const result = await sweep(
      ctx.profile.genThreads.map((threads) => ({ threads, ttftMs: Number.NaN })),
      async ({ threads }) => {
        ctx.log(`  node-llama-cpp direct generation, ${threads} thread(s)`);
        const input: LlamaGenerateInput = { model, threads, contextSize: CONTEXT, prompt: GEN_PROMPT, maxTokens: ctx.profile.genTokens, runs: ctx.profile.genRuns, warmupRuns: 1 };
        const out = await runChild<LlamaGenerateInput, { runs: GenerationTiming[] }>(CHILD.llamaGenerate, input, { env: tamedEnv(), timeoutMs: 600_000 });
        ttft.set(threads, median(out.runs.map((r) => r.ttftMs)));
        return median(out.runs.map((r) => r.tokPerSec));
      },
    );
    for (const p of [result.best, ...result.points]) p.ttftMs = ttft.get(p.threads) ?? Number.NaN;
    return result;
  });
}

/** llama-bench tg at each thread count (its own repetitions); best tok/s. */
export function llamaBenchGenerate(ctx: RunContext): Promise<{ best: { threads: number; tokPerSec: number }; points: Array<{ threads: number; tokPerSec: number }> }> {
  return ctx.shared('llama-bench-tg', async () => {
    const peers = ctx.peerBinaries();
    if ('unavailable' in peers) throw new Error(peers.unavailable);
    ctx.log(`  llama-bench tg${ctx.profile.genTokens}, -t ${ctx.profile.genThreads.join(',')}`);
    const points = await llamaBenchTg({ binary: peers.llamaBench, model: await ctx.llama(), threads: ctx.profile.genThreads, tokens: ctx.profile.genTokens, repetitions: ctx.profile.benchRepetitions, timeoutMs: 600_000 });
    if (points.length === 0) throw new Error('llama-bench reported no generation results');
    return { best: points.reduce((a, b) => (b.tokPerSec > a.tokPerSec ? b : a)), points };
  });
}
