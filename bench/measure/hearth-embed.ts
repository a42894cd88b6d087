import { join } from 'node:path';
import type { RunContext } from '../context.js';
import { untamedEnv } from '../env.js';
import { startHearth, type HearthServer } from '../hearth/hearth-server.js';
import { get, keepAliveAgent } from '../load/http-client.js';
import type { EmbedLoadResult } from '../load/http-load.js';
import type { LoadJob } from '../children/load-client.js';
import { runChild } from '../proc/child.js';
import { CHILD, CHILD_OVERHEAD_MS } from './children.js';
import { sampleHealthDuring, type HealthSamples } from './health-sampler.js';

/**
 * One `hearth serve` session with an embedding model preloaded (fresh
 * HEARTH_HOME, so an auto run really tunes), measured from a separate load
 * process: E1's 16 concurrent clients; then the same load again with H1's
 * /health sampler in a third process; then E2's single 256-text call.
 */
export interface HearthEmbedOptions {
  /** A GGUF file or an ONNX model folder; served through an alias. */
  model: string;
  /** HEARTH_THREADS; undefined lets hearth tune. */
  threads?: number;
  health?: boolean;
  batch?: boolean;
}

export interface HearthEmbedResult {
  load: EmbedLoadResult;
  health?: HealthResult;
  batch?: { rate: number; timesMs: number[] };
  /** The model's runtime identity from /api/ps: threads and parallelism chosen. */
  runtime: unknown;
  startupMs: number;
}

export interface HealthResult extends HealthSamples {
  /** E1's rate during the sampled window (the sampler's own cost shows against E1's). */
  loadRate?: number;
  error?: string;
}

export const EMBED_ALIAS = 'bench-embed';

export function hearthEmbed(ctx: RunContext, options: HearthEmbedOptions): Promise<HearthEmbedResult> {
  const key = `hearth-embed:${options.model}:${options.threads ?? 'auto'}:${options.health ? 'h' : ''}${options.batch ? 'b' : ''}`;
  return ctx.shared(key, async () => {
    ctx.log(`  hearth serve, embeddings, ${options.threads === undefined ? 'auto-tuned' : `HEARTH_THREADS=${options.threads}`}`);
    const home = await ctx.tempDir('hearth-embed');
    const server = await startHearth({
      home,
      hubCache: join(home, 'hub'),
      aliases: { [EMBED_ALIAS]: options.model },
      preload: [EMBED_ALIAS],
      env: { HEARTH_TUNE_BUDGET: ctx.profile.tuneBudget, ...(options.threads === undefined ? {} : { HEARTH_THREADS: String(options.threads) }) },
      entry: ctx.options.entry,
      timeoutMs: 300_000,
    });
    try {
      return await measure(ctx, server, options);
    } finally {
      await server.stop();
    }
  });
}

async function measure(ctx: RunContext, server: HearthServer, options: HearthEmbedOptions): Promise<HearthEmbedResult> {
  const { profile } = ctx;
  const runtime = await runtimeOf(server.url);
  const load = await embedLoad(ctx, server.url);
  const result: HearthEmbedResult = { load, runtime, startupMs: server.readyAt - server.spawnedAt };
  // H1 gets a second load window of its own, so the sampler's requests never touch E1's figure.
  if (options.health) result.health = await healthUnderLoad(ctx, server.url);
  if (options.batch) {
    const job: LoadJob = { kind: 'batch', spec: { url: server.url, model: EMBED_ALIAS, texts: ctx.texts.slice(0, profile.e2Texts), calls: profile.e2Calls } };
    result.batch = await runChild(CHILD.loadClient, job, { env: untamedEnv(), timeoutMs: profile.measureMs * 4 + CHILD_OVERHEAD_MS });
  }
  return result;
}

async function embedLoad(ctx: RunContext, url: string): Promise<EmbedLoadResult> {
  const { profile } = ctx;
  const job: LoadJob = {
    kind: 'embed',
    spec: { url, model: EMBED_ALIAS, texts: ctx.texts, concurrency: profile.concurrency, warmupRequests: profile.concurrency * 2, maxRequests: profile.maxTexts, timeLimitMs: profile.measureMs },
  };
  const load = await runChild<LoadJob, EmbedLoadResult>(CHILD.loadClient, job, { env: untamedEnv(), timeoutMs: profile.measureMs * 3 + CHILD_OVERHEAD_MS });
  if (load.errors > 0) throw new Error(`${load.errors} of ${load.requests} embedding requests failed: ${load.firstError}`);
  return load;
}

/** /health sampled from a third process for as long as a second E1 load runs. */
async function healthUnderLoad(ctx: RunContext, url: string): Promise<HealthResult> {
  try {
    const { health, result: load } = await sampleHealthDuring(ctx, url, () => embedLoad(ctx, url), ctx.profile.measureMs * 4 + CHILD_OVERHEAD_MS);
    return { ...health, loadRate: load.rate };
  } catch (error) {
    return { samples: 0, errors: 1, p50Ms: Number.NaN, p99Ms: Number.NaN, maxMs: Number.NaN, loadRate: Number.NaN, error: (error as Error).message };
  }
}

/** The first model's runtime identity, as /api/ps reports it. */
export async function runtimeOf(url: string): Promise<unknown> {
  const agent = keepAliveAgent(1);
  try {
    const reply = await get(agent, `${url}/api/ps`);
    return (JSON.parse(reply.body) as { models?: Array<{ runtime?: unknown }> }).models?.[0]?.runtime;
  } catch {
    return undefined;
  } finally {
    agent.destroy();
  }
}
