import { HearthError } from '../errors/index.js';
import type { PoolEntry } from './pool-entry.js';

export interface PlacementLimits {
  maxLoaded: number;
  memoryBudget: number;
}

/** What a load must do to fit: nothing, evict a model, wait for a busy one, or give up. */
export type Placement = { kind: 'fits' } | { kind: 'evict'; victim: PoolEntry } | { kind: 'wait'; limit: string } | { kind: 'refuse'; error: HearthError };

/**
 * The placement rule, apart from the waiting and unloading the pool does:
 * a model that can never fit is MODEL_TOO_LARGE; within the count and memory
 * limits it fits; otherwise the least recently used idle, unpinned model is
 * evicted; behind busy models the load waits; behind preloaded (pinned)
 * models only, no wait can help, so it is POOL_FULL at once.
 */
export function place(entry: PoolEntry, bytes: number, others: readonly PoolEntry[], limits: PlacementLimits): Placement {
  const { maxLoaded, memoryBudget } = limits;
  if (bytes > memoryBudget) {
    return {
      kind: 'refuse',
      error: new HearthError('MODEL_TOO_LARGE', `${entry.resolved.ref} needs about ${mb(bytes)} MB but the memory budget is ${mb(memoryBudget)} MB`, {
        details: { estimatedBytes: bytes, memoryBudget },
        hint: 'raise HEARTH_MEMORY_BUDGET, or use a smaller quantization',
      }),
    };
  }
  const holders = others.filter((e) => e.reserved > 0 && e !== entry);
  const used = holders.reduce((n, e) => n + e.reserved, 0);
  if (holders.length < maxLoaded && used + bytes <= memoryBudget) return { kind: 'fits' };
  const victim = holders.filter((e) => e.state === 'ready' && e.inFlight === 0 && !e.pinned).sort((a, b) => a.useOrder - b.useOrder)[0];
  if (victim) return { kind: 'evict', victim };
  const limit = holders.length >= maxLoaded ? `HEARTH_MAX_LOADED_MODELS (${maxLoaded})` : `the memory budget (${mb(memoryBudget)} MB)`;
  if (holders.every((e) => e.pinned)) {
    return {
      kind: 'refuse',
      error: new HearthError('POOL_FULL', `cannot load ${entry.resolved.ref}: preloaded models fill ${limit}, and preloads are never evicted`, {
        details: { loaded: holders.map((e) => e.resolved.ref) },
        hint: 'raise HEARTH_MAX_LOADED_MODELS or HEARTH_MEMORY_BUDGET, or preload fewer models',
      }),
    };
  }
  return { kind: 'wait', limit };
}

/** The error of a load that waited `waitMs` for busy models to go idle. */
export function busyTooLong(entry: PoolEntry, limit: string, waitMs: number, others: readonly PoolEntry[], cause: unknown): HearthError {
  return new HearthError('POOL_FULL', `cannot load ${entry.resolved.ref}: the models filling ${limit} stayed busy for ${Math.round(waitMs / 1000)} s`, {
    cause,
    details: { loaded: others.filter((e) => e.reserved > 0 && e !== entry).map((e) => e.resolved.ref), retryAfterSeconds: 5 },
    hint: 'retry later, or raise HEARTH_MAX_LOADED_MODELS (HEARTH_LOAD_WAIT sets how long a load waits)',
  });
}

function mb(bytes: number): number {
  return Math.ceil(bytes / 1e6);
}
