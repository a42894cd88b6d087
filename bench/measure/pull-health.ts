import { join } from 'node:path';
import type { RunContext } from '../context.js';
import { startHearth } from '../hearth/hearth-server.js';
import { keepAliveAgent, postJson } from '../load/http-client.js';
import { sampleHealthDuring, type HealthSamples } from './health-sampler.js';

/**
 * `hearth serve` (fresh home, no models) pointed at the fake hub, pulling one
 * file through Ollama's POST /api/pull while a separate process samples
 * /health: the samples span exactly the pull request. The pull streams its
 * progress (Ollama's default), so the server's event loop carries the
 * progress lines as well as the download.
 */
export interface PullHealth extends HealthSamples {
  /** The /api/pull request, sent to its last line. */
  pullMs: number;
  progressLines: number;
}

export async function healthDuringPull(ctx: RunContext, hubUrl: string, model: string): Promise<PullHealth> {
  ctx.log('  P1: /health during POST /api/pull');
  const home = await ctx.tempDir('p1-serve');
  const server = await startHearth({
    home,
    hubCache: join(home, 'hub'),
    aliases: {},
    preload: [],
    env: { HF_ENDPOINT: hubUrl, HEARTH_DISK_RESERVE: '0' },
    entry: ctx.options.entry,
    timeoutMs: 120_000,
  });
  try {
    const pull = async () => {
      const agent = keepAliveAgent(1);
      const start = performance.now();
      try {
        const reply = await postJson(agent, `${server.url}/api/pull`, { model, stream: true });
        const pullMs = performance.now() - start;
        const lines = reply.body.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as { status?: string; error?: unknown });
        const last = lines.at(-1);
        if (reply.status !== 200 || last?.status !== 'success') throw new Error(`POST /api/pull answered ${reply.status}: ${JSON.stringify(last?.error ?? last ?? reply.body.slice(0, 200))}`);
        return { pullMs, progressLines: lines.length };
      } finally {
        agent.destroy();
      }
    };
    const { health, result } = await sampleHealthDuring(ctx, server.url, pull, 600_000);
    return { ...health, ...result };
  } finally {
    await server.stop();
  }
}
