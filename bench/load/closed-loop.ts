import { percentile } from '../stats.js';
import type { HttpReply } from './http-client.js';

export interface ClosedLoopSpec {
  concurrency: number;
  warmupRequests: number;
  /** Requests in the measured window, at most. */
  maxRequests: number;
  /** A bound on the window, so a stalled server ends the run instead of hanging it. */
  timeLimitMs: number;
}

export interface ClosedLoopResult {
  requests: number;
  errors: number;
  firstError: string | undefined;
  elapsedMs: number;
  /** Successful requests per second. */
  rate: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
}

/**
 * `concurrency` clients, each sending its next request when the last one is answered, after a warm-up that
 * opens every keep-alive socket. `check` reads a 200's body and says what is wrong with it, if anything;
 * `onWindow` runs just before and just after the measured window (for server counters).
 */
export async function closedLoop(
  spec: ClosedLoopSpec,
  one: () => Promise<HttpReply>,
  check: (body: string) => string | undefined,
  onWindow: { before?: () => Promise<void>; after?: () => Promise<void> } = {},
): Promise<ClosedLoopResult> {
  await Promise.all(
    Array.from({ length: spec.concurrency }, async (_, i) => {
      for (let r = i; r < spec.warmupRequests; r += spec.concurrency) await one();
    }),
  );
  await onWindow.before?.();
  const latencies: number[] = [];
  let errors = 0;
  let firstError: string | undefined;
  let started = 0;
  const start = performance.now();
  const deadline = start + spec.timeLimitMs;
  const client = async () => {
    while (started < spec.maxRequests && performance.now() < deadline) {
      started++;
      const t0 = performance.now();
      const reply = await one().catch((e: Error) => ({ status: 0, body: e.message }));
      latencies.push(performance.now() - t0);
      const problem = reply.status === 200 ? check(reply.body) : `${reply.status} ${reply.body.slice(0, 200)}`;
      if (problem !== undefined) {
        errors++;
        firstError ??= problem;
      }
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, client));
  const elapsedMs = performance.now() - start;
  await onWindow.after?.();
  const ok = latencies.length - errors;
  return { requests: latencies.length, errors, firstError, elapsedMs, rate: ok / (elapsedMs / 1000), latencyP50Ms: percentile(latencies, 50), latencyP99Ms: percentile(latencies, 99) };
}
