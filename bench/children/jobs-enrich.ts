import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { isDeepStrictEqual } from 'node:util';
import { loadConfig } from '../../src/config/index.js';
import { BullmqExecutor } from '../../src/jobs/bullmq/bullmq-executor.js';
import { enrichProcessors, ENRICH_QUEUE, planEnrichment } from '../../src/jobs/enrich/enrich-queue.js';
import type { JobExecutor, JobStatus } from '../../src/jobs/executor.js';
import { InProcessExecutor } from '../../src/jobs/in-process-executor.js';
import { silentLogger } from '../../src/log/logger.js';
import { createPool } from '../../src/pool/create-pool.js';
import { createStore } from '../../src/store/index.js';
import { startRedis, type RedisServer } from '../../test/support/redis.js';
import { benchTexts } from '../texts.js';
import { childMain } from './child-io.js';

/**
 * J1, one repeat: a 200-segment transcript enriched by the bench llama,
 * first in this process (the in-process executor, concurrency 1), then on a
 * real redis-server by 1 and by 2 `hearth worker` processes (concurrency 1
 * each, the model preloaded, so no run pays a load), each timed from submit
 * to result. Every process runs 1 thread, so 2 workers can use what 2 cores
 * allow. Then the queue alone: N workers whose chunks each cost a fixed
 * wait (as a model on a machine of its own would), for how the work would
 * split across N machines.
 */
export interface JobsEnrichInput {
  home: string;
  model: string;
  segments: number;
  tasks: string[];
  chunkTokens: number;
  workers: number[];
  /** The command that starts hearth (node and its arguments, then the CLI entry). */
  hearth: string[];
  env: Record<string, string>;
  simulate: { costMs: number; chunks: number; workers: number[] };
}

export interface JobsEnrichResult {
  chunks: number;
  inProcessMs: number;
  /** Per worker count: ms to the result, and whether it equals the in-process result. */
  bullmq: Array<{ workers: number; ms: number; identical: boolean }> | { unavailable: string };
  simulated: Array<{ workers: number; chunks: number; ms: number }> | { unavailable: string };
}

const finish = async (executor: JobExecutor, flow: Parameters<JobExecutor['submit']>[0]): Promise<{ ms: number; status: JobStatus }> => {
  const started = performance.now();
  let last: JobStatus | undefined;
  for await (const status of executor.watch(await executor.submit(flow))) last = status;
  if (last?.state !== 'completed') throw new Error(`the job ${last?.state}: ${last?.error?.message}`);
  return { ms: performance.now() - started, status: last };
};

childMain<JobsEnrichInput, JobsEnrichResult>(async (input) => {
  const config = loadConfig({ HEARTH_HOME: input.home, HEARTH_OFFLINE: '1', HEARTH_THREADS: '1' });
  const store = createStore({ config, logger: silentLogger });
  const pool = createPool({ config, store, logger: silentLogger });
  const words = benchTexts({ count: input.segments, words: 14, seed: 16_001 });
  const transcript = JSON.stringify(words.map((text, i) => ({ start: i * 4, end: i * 4 + 3.5, speaker: `S${i % 3}`, text })));
  const { flow } = await planEnrichment(pool, { model: input.model, transcript, tasks: input.tasks, chunk_tokens: input.chunkTokens, seed: 1 });
  const local = new InProcessExecutor({ dir: `${input.home}/jobs`, concurrency: 1, resume: false });
  local.register(ENRICH_QUEUE, enrichProcessors(pool));
  let inProcess: { ms: number; status: JobStatus };
  try {
    inProcess = await finish(local, flow);
  } finally {
    await local.dispose();
    // The workers load their own copies: this one would only take memory from them.
    await pool.dispose();
    await store.dispose();
  }
  const redis = await startRedis({});
  if ('unavailable' in redis) return { chunks: flow.children.length, inProcessMs: inProcess.ms, bullmq: redis, simulated: redis };
  try {
    const bullmq: Array<{ workers: number; ms: number; identical: boolean }> = [];
    for (const n of input.workers) {
      const workers = await Promise.all(Array.from({ length: n }, () => startWorker(input, redis)));
      const producer = new BullmqExecutor({ url: redis.url, concurrency: 1 });
      try {
        const run = await finish(producer, flow);
        bullmq.push({ workers: n, ms: run.ms, identical: isDeepStrictEqual(run.status.result, inProcess.status.result) });
      } finally {
        await producer.dispose();
        await Promise.all(workers.map(async (w) => (w.exitCode === null ? (w.kill('SIGTERM'), once(w, 'exit')) : undefined)));
      }
    }
    return { chunks: flow.children.length, inProcessMs: inProcess.ms, bullmq, simulated: await simulate(input.simulate, redis) };
  } finally {
    await redis.stop();
  }
});

async function startWorker(input: JobsEnrichInput, redis: RedisServer): Promise<ChildProcess> {
  const [command, ...args] = input.hearth;
  const env = { ...input.env, HEARTH_HOME: input.home, HEARTH_OFFLINE: '1', HEARTH_THREADS: '1', HEARTH_REDIS_URL: redis.url, HEARTH_PRELOAD: input.model };
  const worker = spawn(command!, [...args, 'worker', '--queues', 'enrich', '--concurrency', '1'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    worker.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('worker ready')) resolve();
    });
    worker.once('exit', (code) => reject(new Error(`hearth worker exited with ${code}: ${stderr.slice(-500)}`)));
  });
  return worker;
}

/** The queue alone: N executors in this process (as N machines), each chunk a fixed wait, one flow of `chunks`. */
async function simulate(spec: JobsEnrichInput['simulate'], redis: RedisServer): Promise<Array<{ workers: number; chunks: number; ms: number }>> {
  const out: Array<{ workers: number; chunks: number; ms: number }> = [];
  for (const n of spec.workers) {
    const prefix = `sim${n}`;
    const workers = Array.from({ length: n }, () => new BullmqExecutor({ url: redis.url, concurrency: 1, prefix }));
    for (const w of workers) {
      w.register('sim', {
        child: async (_data, _child, index) => {
          await new Promise((resolve) => setTimeout(resolve, spec.costMs));
          return index;
        },
        parent: async (_data, results) => results.length,
      });
    }
    const producer = new BullmqExecutor({ url: redis.url, concurrency: 1, prefix });
    try {
      const run = await finish(producer, { queue: 'sim', data: {}, children: Array.from({ length: spec.chunks }, (_, i) => i) });
      out.push({ workers: n, chunks: spec.chunks, ms: run.ms });
    } finally {
      await producer.dispose();
      await Promise.all(workers.map((w) => w.dispose()));
    }
  }
  return out;
}
