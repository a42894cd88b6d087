import type { LoadJob } from '../children/load-client.js';
import type { RunContext } from '../context.js';
import { untamedEnv } from '../env.js';
import { startChild } from '../proc/child.js';
import { CHILD } from './children.js';

/**
 * GET /health every `healthIntervalMs` from a process of its own (the load
 * client's `health` job), for exactly as long as `work` runs: sampling has
 * started before `work` begins and is told to stop the moment it ends. The
 * sampler never shares an event loop with the server or with the work.
 */
export interface HealthSamples {
  samples: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export async function sampleHealthDuring<T>(ctx: RunContext, url: string, work: () => Promise<T>, timeoutMs: number): Promise<{ health: HealthSamples; result: T }> {
  let stop: () => void = () => undefined;
  let sampling: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (sampling = resolve));
  const job: LoadJob = { kind: 'health', url, intervalMs: ctx.profile.healthIntervalMs };
  const health = startChild<LoadJob, HealthSamples>(CHILD.loadClient, job, {
    env: untamedEnv(),
    timeoutMs,
    stop: new Promise<void>((resolve) => (stop = resolve)),
    onEvent: () => sampling(),
  }).result;
  // A sampler that fails while `work` fails too must not become an unhandled rejection.
  health.catch(() => undefined);
  try {
    await Promise.race([started, health]);
    const result = await work().finally(() => stop());
    return { health: await health, result };
  } finally {
    stop();
  }
}
