import { HearthError } from '../errors/index.js';
import type { LoadedModel, Parallelism } from '../runtime/types.js';
import type { PoolEntry } from './pool-entry.js';
import type { TuneKind, TuneResult } from './tuner.js';

export type ModelKind = TuneKind;

export function kindOf(entry: PoolEntry): ModelKind {
  const capabilities = entry.info?.capabilities ?? [];
  return capabilities.includes('generation') ? 'generation' : capabilities.includes('speaker-embedding') ? 'speaker' : 'embedding';
}

/**
 * Threads × parallel contexts to load with: fixed by HEARTH_THREADS, the
 * tuner's stored pick for this digest and machine, or a default until measured
 * (one thread per context for embeddings, all cores for one generation context).
 */
export function initialParallelism(kind: ModelKind, config: { threads: number | undefined; numParallel: number; cpus: number }, stored: TuneResult | undefined): Parallelism {
  const { threads, numParallel, cpus } = config;
  if (threads !== undefined) return { threads, parallel: kind === 'generation' ? numParallel : Math.max(1, Math.floor(cpus / threads)) };
  if (stored) return stored.choice;
  return kind === 'generation' ? { threads: cpus, parallel: numParallel } : { threads: 1, parallel: cpus };
}

/** One real inference, so the first request finds every context built and every buffer sized. */
export async function warmUp(model: LoadedModel, kind: ModelKind, signal: AbortSignal): Promise<void> {
  if (kind === 'embedding') await model.embed(['warm-up'], { signal });
  else if (kind === 'speaker') await warmUpSpeaker(model, signal);
  else for await (const _ of model.generate({ kind: 'completion', prompt: 'Hello', maxTokens: 1, temperature: 0, signal }));
}

/** One second of a quiet chirp: any sound will do, but silence would give the network nothing but its floor. */
async function warmUpSpeaker(model: LoadedModel, signal: AbortSignal): Promise<void> {
  if (!model.embedAudio || !model.speaker) throw new HearthError('INTERNAL', 'a speaker model without embedAudio');
  const rate = model.speaker.sampleRate;
  const wave = Float32Array.from({ length: rate }, (_, i) => 0.1 * Math.sin((2 * Math.PI * (200 + (i / rate) * 800) * i) / rate));
  await model.embedAudio([{ sampleRate: rate, channels: [wave] }], { signal });
}
