import type { RunContext } from '../context.js';
import { untamedEnv } from '../env.js';
import type { EmbedLoadResult } from '../load/http-load.js';
import type { LoadJob } from '../children/load-client.js';
import { startLlamaServer } from '../peers/llama-server.js';
import { runChild } from '../proc/child.js';
import { CHILD, CHILD_OVERHEAD_MS } from './children.js';
import { sweep, type SweepResult } from './sweep.js';

/**
 * Baseline (c): llama.cpp's llama-server on the same GGUF bert, under the same
 * 16-client load from the same load process, at its best -t × -np.
 */
export function llamaServerEmbed(ctx: RunContext, model: string, ctxPerSlot: number): Promise<SweepResult<{ threads: number; parallel: number }>> {
  return ctx.shared(`llama-server-embed:${model}`, async () => {
    const peers = ctx.peerBinaries();
    if ('unavailable' in peers) throw new Error(peers.unavailable);
    const { profile } = ctx;
    return sweep(profile.serverSweep, async ({ threads, parallel }) => {
      ctx.log(`  (c) llama-server -t ${threads} -np ${parallel}`);
      const server = await startLlamaServer({ binary: peers.llamaServer, model, threads, parallel, ctxPerSlot, timeoutMs: 120_000 });
      try {
        const job: LoadJob = {
          kind: 'embed',
          spec: { url: server.url, model: 'bench', texts: ctx.texts, concurrency: profile.concurrency, warmupRequests: profile.concurrency * 2, maxRequests: profile.maxTexts, timeLimitMs: profile.measureMs },
        };
        const load = await runChild<LoadJob, EmbedLoadResult>(CHILD.loadClient, job, { env: untamedEnv(), timeoutMs: profile.measureMs * 3 + CHILD_OVERHEAD_MS });
        if (load.errors > 0) throw new Error(`${load.errors} of ${load.requests} requests failed: ${load.firstError}`);
        return load.rate;
      } finally {
        await server.stop();
      }
    });
  });
}
