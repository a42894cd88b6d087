import { join } from 'node:path';
import type { LoadJob } from '../children/load-client.js';
import { untamedEnv } from '../env.js';
import { startHearth } from '../hearth/hearth-server.js';
import type { ChatLoopResult } from '../load/chat-loop.js';
import type { EmbedLoadResult } from '../load/http-load.js';
import { CHILD, CHILD_OVERHEAD_MS } from '../measure/children.js';
import { GEN_ALIAS } from '../measure/generate.js';
import { runChild, startChild } from '../proc/child.js';
import { attempt, type Scenario } from '../scenario.js';
import type { RunContext } from '../context.js';

const EMBED = 'bench-embed';

/**
 * Fairness between models: one embedding client on model A (the ONNX
 * MiniLM-shaped encoder), alone and then while 2 chat clients loop on model
 * B (the benchmark llama), in one server. Both loads run in their own
 * processes. The CPU gate is taken per decode step and per encoder batch,
 * so the embedding waits for at most a step of B, never a whole reply.
 */
export const h2: Scenario = {
  id: 'H2',
  title: 'embedding latency on model A while 2 chat clients loop on model B, against A alone',
  rows: [
    { metric: 'embedding p99, 2 chat clients on B', unit: 'ms', hearth: 'p99Chat', baseline: { key: 'p99Alone', label: 'p99 with A alone' }, compare: 'delta', target: { op: '<=', value: 50 } },
    { metric: 'embedding p50, 2 chat clients on B', unit: 'ms', hearth: 'p50Chat', baseline: { key: 'p50Alone', label: 'p50 with A alone' }, compare: 'delta' },
  ],
  async run(ctx) {
    const details: Record<string, unknown> = {};
    let session: Promise<Fairness> | undefined;
    const measured = () => (session ??= fairness(ctx, details));
    const values = {
      p99Alone: await attempt(async () => (await measured()).alone.latencyP99Ms),
      p99Chat: await attempt(async () => (await measured()).withChat.latencyP99Ms),
      p50Alone: await attempt(async () => (await measured()).alone.latencyP50Ms),
      p50Chat: await attempt(async () => (await measured()).withChat.latencyP50Ms),
    };
    return { values, details };
  },
};

interface Fairness {
  alone: EmbedLoadResult;
  withChat: EmbedLoadResult;
}

async function fairness(ctx: RunContext, details: Record<string, unknown>): Promise<Fairness> {
  const { profile } = ctx;
  ctx.log('  hearth serve, an embedding model and a chat model, with and without chat load');
  const home = await ctx.tempDir('hearth-h2');
  const server = await startHearth({
    home,
    hubCache: join(home, 'hub'),
    aliases: { [EMBED]: await ctx.bertOnnx(), [GEN_ALIAS]: await ctx.llama() },
    preload: [EMBED, GEN_ALIAS],
    env: { HEARTH_TUNE_BUDGET: profile.tuneBudget, HEARTH_MAX_LOADED_MODELS: '2' },
    entry: ctx.options.entry,
    timeoutMs: 300_000,
  });
  try {
    const embed = async () => {
      const job: LoadJob = {
        kind: 'embed',
        spec: { url: server.url, model: EMBED, texts: ctx.texts, concurrency: 1, warmupRequests: 8, maxRequests: profile.maxTexts, timeLimitMs: profile.measureMs },
      };
      const load = await runChild<LoadJob, EmbedLoadResult>(CHILD.loadClient, job, { env: untamedEnv(), timeoutMs: profile.measureMs * 3 + CHILD_OVERHEAD_MS });
      if (load.errors > 0) throw new Error(`${load.errors} of ${load.requests} embedding requests failed: ${load.firstError}`);
      return load;
    };
    const alone = await embed();
    let stop: () => void = () => undefined;
    let looping: () => void = () => undefined;
    const started = new Promise<void>((resolve) => (looping = resolve));
    const chatJob: LoadJob = { kind: 'chatLoop', spec: { url: server.url, model: GEN_ALIAS, clients: 2, maxTokens: 64 } };
    const chat = startChild<LoadJob, ChatLoopResult>(CHILD.loadClient, chatJob, {
      env: untamedEnv(),
      timeoutMs: profile.measureMs * 6 + CHILD_OVERHEAD_MS,
      stop: new Promise<void>((resolve) => (stop = resolve)),
      onEvent: () => looping(),
    }).result;
    await Promise.race([started, chat]);
    let withChat: EmbedLoadResult;
    try {
      withChat = await embed();
    } finally {
      stop();
      // Settled whatever happened above, so a failing chat child never becomes an unhandled rejection.
      await chat.catch(() => undefined);
    }
    const chats = await chat;
    if (chats.errors > 0) throw new Error(`${chats.errors} chat requests failed: ${chats.firstError}`);
    Object.assign(details, {
      alone: { requests: alone.requests, p50Ms: alone.latencyP50Ms, p99Ms: alone.latencyP99Ms },
      withChat: { requests: withChat.requests, p50Ms: withChat.latencyP50Ms, p99Ms: withChat.latencyP99Ms },
      chats: { replies: chats.chats, completionTokens: chats.completionTokens },
    });
    return { alone, withChat };
  } finally {
    await server.stop();
  }
}
