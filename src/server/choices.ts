import type { Lease } from '../pool/model-pool.js';
import type { GenerateRequest } from '../runtime/types.js';
import type { ServerContext } from './context.js';
import { generate, type GenerationTimings } from './generation.js';

/** OpenAI's n, times the prompts of a /v1/completions prompt array: the most choices one request may ask for. */
export const MAX_CHOICES = 8;

export interface ChoiceText {
  index: number;
  text: string;
}

/**
 * Several generations on one lease (OpenAI's `n`, and /v1/completions'
 * prompt arrays), run at once: the model batches them over its parallel
 * sequences, and the ones beyond wait for a free sequence, so a request for
 * many choices cannot take more than the model's sequences. Yields each
 * piece of text with its choice's index, as it comes, and returns every
 * choice's timings. The lease is released when the last choice ends; when
 * one fails, or the consumer stops early, the others are aborted.
 */
export async function* generateChoices(ctx: ServerContext, lease: Lease, requests: readonly GenerateRequest[], startedAt: number, loadedAt: number): AsyncGenerator<ChoiceText, GenerationTimings[]> {
  const stop = new AbortController();
  const shares = shareLease(lease, requests.length);
  const runs = requests.map((request, i) => generate(ctx, shares[i]!, { ...request, signal: request.signal ? AbortSignal.any([request.signal, stop.signal]) : stop.signal }, startedAt, loadedAt));
  const next = (index: number) => runs[index]!.next().then((step) => ({ index, step }));
  const pending = new Map(runs.map((_, i) => [i, next(i)] as const));
  const timings: GenerationTimings[] = [];
  try {
    while (pending.size > 0) {
      const { index, step } = await Promise.race(pending.values());
      if (step.done) {
        timings[index] = step.value;
        pending.delete(index);
      } else {
        pending.set(index, next(index));
        yield { index, text: step.value };
      }
    }
    return timings;
  } finally {
    if (pending.size > 0) {
      stop.abort();
      // The aborted choices end with an abort error that nobody waits for any more.
      for (const p of pending.values()) p.catch(() => undefined);
    }
  }
}

/** `count` leases over one: each releases its share once, and the lease itself goes back with the last. */
function shareLease(lease: Lease, count: number): Lease[] {
  let left = count;
  return Array.from({ length: count }, () => {
    let released = false;
    return {
      model: lease.model,
      view: lease.view,
      resolved: lease.resolved,
      release() {
        if (released) return;
        released = true;
        if (--left === 0) lease.release();
      },
    };
  });
}
