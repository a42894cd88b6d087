import type { LoadedModel, Parallelism } from '../runtime/types.js';
import type { PoolEntry } from './pool-entry.js';
import type { Tuner } from './tuner.js';

export type ModelKind = 'embedding' | 'generation';

export function kindOf(entry: PoolEntry): ModelKind {
  return entry.info?.capabilities.includes('generation') ? 'generation' : 'embedding';
}

/**
 * Threads × parallel contexts to load with: fixed by HEARTH_THREADS, the
 * tuner's stored pick for this digest and machine, or a default until measured
 * (one thread per context for embeddings, all cores for one generation context).
 */
export async function initialParallelism(
  kind: ModelKind,
  digest: string | undefined,
  config: { threads: number | undefined; numParallel: number; cpus: number },
  tuner: Tuner | undefined,
): Promise<Parallelism> {
  const { threads, numParallel, cpus } = config;
  if (threads !== undefined) return { threads, parallel: kind === 'embedding' ? Math.max(1, Math.floor(cpus / threads)) : numParallel };
  const cached = digest ? await tuner?.cached(digest, kind) : undefined;
  if (cached) return cached.choice;
  return kind === 'embedding' ? { threads: 1, parallel: cpus } : { threads: cpus, parallel: numParallel };
}

/** One real inference, so the first request finds every context built and every buffer sized. */
export async function warmUp(model: LoadedModel, kind: ModelKind, signal: AbortSignal): Promise<void> {
  if (kind === 'embedding') await model.embed(['warm-up'], { signal });
  else for await (const _ of model.generate({ kind: 'completion', prompt: 'Hello', maxTokens: 1, temperature: 0, signal }));
}
