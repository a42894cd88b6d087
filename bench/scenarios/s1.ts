import { join } from 'node:path';
import type { RunContext } from '../context.js';
import { tamedEnv } from '../env.js';
import { startHearth } from '../hearth/hearth-server.js';
import { GEN_ALIAS } from '../measure/generate.js';
import { runtimeOf } from '../measure/hearth-embed.js';
import { CHILD } from '../measure/children.js';
import { startChild } from '../proc/child.js';
import { cliStartupMs } from '../proc/timed.js';
import { attempt, type Scenario } from '../scenario.js';
import { median } from '../stats.js';

/**
 * `hearth serve` restarting with a model it already has (stored, tuned) and
 * preloads, timed from spawn to the first /ready 200; against a bare
 * node-llama-cpp load of the same file by a plain `node app.mjs` child
 * (tamed, no tsx), timed from spawn to its first context. With the default
 * `--entry src`, hearth also pays tsx twice (it relaunches itself); take S1's
 * figure with `--entry dist` after `npm run build`.
 */
/** Input of bench/children/llama-load.mjs. */
interface LlamaLoadInput {
  model: string;
  kind: 'embedding' | 'generation';
  threads: number;
  parallel: number;
  contextSize: number;
}

interface Prepared {
  home: string;
  threads: number;
  parallel: number;
  contextSize: number;
}

async function prepare(ctx: RunContext): Promise<Prepared> {
  return ctx.once('s1-home', async () => {
    ctx.log('  S1: first start (stores, tunes and records the model; not timed)');
    const home = await ctx.tempDir('s1-home');
    const server = await startHearth({ ...serverOptions(home, await ctx.llama(), ctx), timeoutMs: 300_000 });
    try {
      const runtime = (await runtimeOf(server.url)) as { threads?: number; parallel?: number; contextSize?: number } | undefined;
      return { home, threads: runtime?.threads ?? 1, parallel: runtime?.parallel ?? 2, contextSize: runtime?.contextSize ?? 4096 };
    } finally {
      await server.stop();
    }
  });
}

function serverOptions(home: string, model: string, ctx: RunContext, env: Record<string, string> = {}) {
  return { home, hubCache: join(home, 'hub'), aliases: { [GEN_ALIAS]: model }, preload: [GEN_ALIAS], env: { HEARTH_TUNE_BUDGET: ctx.profile.tuneBudget, ...env }, entry: ctx.options.entry };
}

/** Spawn to /ready 200, and spawn to the listening banner (before it: processes and modules; after: the model). */
async function hearthStart(ctx: RunContext, prepared: Prepared, env: Record<string, string> = {}): Promise<{ readyMs: number; listeningMs: number }> {
  const server = await startHearth({ ...serverOptions(prepared.home, await ctx.llama(), ctx, env), timeoutMs: 300_000 });
  await server.stop();
  return { readyMs: server.readyAt - server.spawnedAt, listeningMs: server.listeningAt - server.spawnedAt };
}

async function bareLoad(ctx: RunContext, prepared: Prepared): Promise<number> {
  let readyAt: number | undefined;
  const input: LlamaLoadInput = { model: await ctx.llama(), kind: 'generation', threads: prepared.threads, parallel: prepared.parallel, contextSize: prepared.contextSize };
  const run = startChild<LlamaLoadInput, unknown>(CHILD.llamaLoad, input, { env: tamedEnv(), timeoutMs: 300_000, onEvent: (_e, at) => (readyAt ??= at) });
  await run.result;
  if (readyAt === undefined) throw new Error('bare load never reported ready');
  return readyAt - run.startedAt;
}

export const s1: Scenario = {
  id: 'S1',
  title: '`hearth serve` with a stored, preloaded model until /ready answers 200',
  rows: [
    { metric: 'start to ready', unit: 'ms', hearth: 'hearth', baseline: { key: 'bare', label: 'bare node-llama-cpp load + context' }, compare: 'delta', target: { op: '<=', value: 300 } },
    { metric: 'start to ready (hearth ÷ bare)', unit: 'ms', hearth: 'hearth', baseline: { key: 'bare', label: 'bare node-llama-cpp load + context' }, compare: 'ratio', note: 'lower is better' },
    { metric: 'start to ready, HEARTH_VERIFY_ON_LOAD=always', unit: 'ms', hearth: 'always', baseline: { key: 'hearth', label: 'auto (the default)' }, compare: 'delta', note: 'what hashing every file before the first load costs' },
  ],
  async run(ctx) {
    const details: Record<string, unknown> = { entry: ctx.options.entry };
    const prepared = await prepare(ctx);
    details.config = { threads: prepared.threads, parallel: prepared.parallel, contextSize: prepared.contextSize };
    const hearthTimes: number[] = [];
    const listeningTimes: number[] = [];
    const bareTimes: number[] = [];
    const hearth = await attempt(async () => {
      for (let i = 0; i < ctx.profile.startups; i++) {
        ctx.log('  S1: hearth serve restart, timed to /ready');
        const { readyMs, listeningMs } = await hearthStart(ctx, prepared);
        hearthTimes.push(readyMs);
        listeningTimes.push(listeningMs);
      }
      return median(hearthTimes);
    });
    const alwaysTimes: number[] = [];
    const always = await attempt(async () => {
      for (let i = 0; i < ctx.profile.startups; i++) {
        ctx.log('  S1: hearth serve restart with HEARTH_VERIFY_ON_LOAD=always, timed to /ready');
        alwaysTimes.push((await hearthStart(ctx, prepared, { HEARTH_VERIFY_ON_LOAD: 'always' })).readyMs);
      }
      return median(alwaysTimes);
    });
    const bare = await attempt(async () => {
      for (let i = 0; i < ctx.profile.startups; i++) {
        ctx.log('  S1: bare node-llama-cpp load, timed to first context');
        bareTimes.push(await bareLoad(ctx, prepared));
      }
      return median(bareTimes);
    });
    // `serve` pays the CLI's start-up twice, since it relaunches itself with the tamed environment.
    details.cliStartupMs = await attempt(() => cliStartupMs(ctx.options.entry));
    Object.assign(details, { hearthTimesMs: hearthTimes, hearthListeningMs: listeningTimes, alwaysTimesMs: alwaysTimes, bareTimesMs: bareTimes });
    return { values: { hearth, bare, always }, details };
  },
};
