import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { throwIfAborted } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import { writeFileAtomic } from '../store/fs-utils.js';
import type { AudioInput, LoadedModel, Parallelism } from '../runtime/types.js';

/** What a model is tuned for: embedding texts, generating, or embedding clips (a speaker model). */
export type TuneKind = 'embedding' | 'generation' | 'speaker';

export interface Measurement extends Parallelism {
  rate: number;
}

export interface TuneResult {
  choice: Parallelism;
  unit: 'texts/s' | 'tokens/s' | 'clips/s';
  measurements: Measurement[];
  measuredAt: string;
  /** True when read from an earlier run on this machine instead of measured now. */
  cached: boolean;
  /** False when the budget ran out before every candidate was measured (such a pick is not stored). */
  complete: boolean;
}

export interface TunerOptions {
  /** Where results are kept, one file per (model digest, machine). */
  dir: string;
  cpus: number;
  numParallel: number;
  /** Total measuring time for one model: a bound, overrun by at most the candidate measuring when it runs out. */
  budgetMs: number;
  machine: string;
  logger: Logger;
  /** Milliseconds on a monotonic clock; tests pass their own. */
  now?: () => number;
}

/** Short English sentences of ~20 tokens, like the texts users embed. */
const SAMPLE_TEXTS = [
  'the quick brown fox jumps over the lazy dog while the cat sleeps on the warm mat',
  'once upon a time there was a little girl who loved to play in the park with her friends',
  'a self hosted model runtime keeps models warm so the first request never has to wait',
  'embeddings that differ between machines silently corrupt a vector index built over months',
];

/**
 * Picks threads × parallelism by measuring, because the best setting depends
 * on the model and the machine in ways no formula captures (a 260K-parameter
 * model is fastest on one thread; a 27M one on both of 2 cores). Results are cached
 * per model digest and machine, so a restart skips the measurement.
 */
export class Tuner {
  readonly #now: () => number;

  constructor(private readonly options: TunerOptions) {
    this.#now = options.now ?? (() => performance.now());
  }

  candidates(kind: TuneKind): Parallelism[] {
    const { cpus, numParallel } = this.options;
    const threads = [...new Set([1, 2, 4, 8, 16, 32, cpus].filter((t) => t <= cpus))].sort((a, b) => a - b);
    if (kind === 'generation') return threads.map((t) => ({ threads: t, parallel: numParallel }));
    // Embeddings also try threads × contexts past the core count (2 × 2 on 2 cores): contexts
    // that wait on each other leave cores idle, and the bench measured 2 × 2 best there for GGUF.
    const out: Parallelism[] = [];
    for (const t of threads) for (const p of threads) if (t * p <= cpus * 2) out.push({ threads: t, parallel: p });
    return out;
  }

  async cached(digest: string, kind: TuneKind): Promise<TuneResult | undefined> {
    try {
      const stored = JSON.parse(await readFile(this.#file(digest, kind), 'utf8')) as TuneResult;
      return { ...stored, cached: true, complete: true };
    } catch {
      return undefined;
    }
  }

  async tune(model: LoadedModel, digest: string | undefined, kind: TuneKind, signal?: AbortSignal): Promise<TuneResult> {
    const previous = digest ? await this.cached(digest, kind) : undefined;
    if (previous) {
      await model.configure(previous.choice);
      return previous;
    }
    const candidates = this.candidates(kind);
    const started = this.#now();
    const deadline = started + this.options.budgetMs;
    const measurements: Measurement[] = [];
    // The budget is a bound: a candidate starts only while time is left, and its timed loop ends at
    // the deadline. On a busy machine a slow candidate (a context of 2 threads whose second core is
    // taken by someone else) could otherwise run far past it; it is then the one that overruns.
    for (const [index, candidate] of candidates.entries()) {
      throwIfAborted(signal);
      if (measurements.length > 0 && this.#now() >= deadline) break;
      await model.configure(candidate);
      // What is left of the budget, shared by the candidates still to measure.
      const until = this.#now() + (deadline - this.#now()) / (candidates.length - index);
      const rate = kind === 'generation' ? await measureGeneration(model, until, this.#now, signal) : await measureEmbedding(model, kind, candidate, until, this.#now, signal);
      measurements.push({ ...candidate, rate });
      this.options.logger.debug({ ...candidate, rate, kind }, 'tuning candidate measured');
    }
    const best = kind === 'generation' ? fastest(measurements) : pick(measurements);
    const choice = { threads: best.threads, parallel: best.parallel };
    await model.configure(choice);
    const complete = measurements.length === candidates.length;
    const result: TuneResult = { choice, unit: kind === 'generation' ? 'tokens/s' : kind === 'speaker' ? 'clips/s' : 'texts/s', measurements, measuredAt: new Date().toISOString(), cached: false, complete };
    if (digest && complete) {
      // The pick is an optimisation: a home that cannot be written (read-only, full) costs a re-tune next start, not the load.
      await writeFileAtomic(this.#file(digest, kind), JSON.stringify({ ...result, cached: undefined }, null, 2)).catch((error: unknown) =>
        this.options.logger.warn({ err: (error as Error).message }, 'cannot save the tuning result; the next start measures again'),
      );
    }
    this.options.logger.info({ choice, measurements, kind, complete, ms: Math.round(this.#now() - started) }, complete ? 'tuned' : 'tuned within the budget before every candidate was measured');
    return result;
  }

  #file(digest: string, kind: string): string {
    const parallel = kind === 'generation' ? `-p${this.options.numParallel}` : '';
    return join(this.options.dir, `${digest}-${kind}${parallel}-${this.options.machine}.json`);
  }
}

/** Within this fraction of the fastest, a candidate counts as tied with it. */
const TIE = 0.1;

/**
 * For embeddings: the fastest candidate, except that among those within TIE of it the one
 * with the fewest threads per context wins. A server's own threads (HTTP,
 * tokenizing, the load client on a small machine) preempt inference threads,
 * and a multi-threaded context then waits at its barrier for the preempted
 * one. Measured on 2 vCPUs: a MiniLM-shaped ONNX model tied in-process at
 * 1 thread × 2 sessions and 2 threads × 1 session (166–196 and 171–194
 * texts/s), and then served 16 HTTP clients at 168–175 and 123–150.
 */
export function pick(measurements: readonly Measurement[]): Measurement {
  const top = fastest(measurements).rate;
  const tied = measurements.filter((m) => m.rate >= top * (1 - TIE));
  return tied.reduce((a, b) => (b.threads < a.threads || (b.threads === a.threads && b.rate > a.rate) ? b : a));
}

/**
 * Generation keeps the plain fastest. Its candidates differ only in threads, the
 * tie rule was measured on encoder sessions, and a 1-thread llama decode is far
 * slower (55 against 85–100 tok/s on the bench's 60M llama), so a tie there is noise.
 */
export function fastest(measurements: readonly Measurement[]): Measurement {
  return measurements.reduce((a, b) => (b.rate > a.rate ? b : a));
}

/** Two seconds of a voiced, syllabic signal at 16 kHz: what a speaker model is fed, at a typical length. */
function sampleClip(seed: number): AudioInput {
  const rate = 16000;
  const wave = Float32Array.from({ length: 2 * rate }, (_, i) => {
    const t = i / rate;
    const f0 = 110 + 40 * seed;
    return 0.2 * (0.6 - 0.4 * Math.cos(2 * Math.PI * 4 * t)) * (Math.sin(2 * Math.PI * f0 * t) + 0.5 * Math.sin(4 * Math.PI * f0 * t));
  });
  return { sampleRate: rate, channels: [wave] };
}

/** Embedding rate (texts or clips a second) until `until` (a time on `now`); the untimed first batch is not counted. */
async function measureEmbedding(model: LoadedModel, kind: 'embedding' | 'speaker', candidate: Parallelism, until: number, now: () => number, signal?: AbortSignal): Promise<number> {
  // Concurrent callers of 8 texts (or 4 clips) each, as under load: a candidate with parallel contexts or
  // sessions, or a backend that batches across callers (ONNX), is measured doing so.
  const callers = Math.max(2, candidate.parallel);
  const run = kind === 'speaker' ? speakerRun(model, signal) : textRun(model, signal);
  // Builds the contexts, and runs the full batch shape once untimed: a fresh ONNX session grows its
  // memory arena on its first batch of each size, which would otherwise be charged to the candidate.
  await Promise.all(Array.from({ length: callers }, run));
  let inputs = 0;
  const start = now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      // Awaited before the add: `inputs += await run()` reads `inputs` before the await, and
      // concurrent callers would then overwrite each other's counts.
      do {
        const embedded = await run();
        inputs += embedded;
      } while (now() < until);
    }),
  );
  return inputs / (Math.max(1e-3, now() - start) / 1000);
}

/** One caller's batch of 8 texts; resolves to how many it embedded. */
function textRun(model: LoadedModel, signal: AbortSignal | undefined): () => Promise<number> {
  const batch = Array.from({ length: 8 }, (_, i) => SAMPLE_TEXTS[i % SAMPLE_TEXTS.length]!);
  return async () => (await model.embed(batch, { signal })).vectors.length;
}

/** One caller's batch of 4 clips of equal length, which a speaker model batches together. */
function speakerRun(model: LoadedModel, signal: AbortSignal | undefined): () => Promise<number> {
  const clips = Array.from({ length: 4 }, (_, i) => sampleClip(i));
  return async () => (await model.embedAudio!(clips, { signal })).length;
}

async function measureGeneration(model: LoadedModel, until: number, now: () => number, signal?: AbortSignal): Promise<number> {
  const run = async (maxTokens: number) => {
    let tokens = 0;
    for await (const event of model.generate({ kind: 'completion', prompt: SAMPLE_TEXTS[1]!, maxTokens, temperature: 0, signal })) {
      if (event.type === 'done') tokens = event.completionTokens;
    }
    return tokens;
  };
  await run(2); // builds the context
  let tokens = 0;
  const start = now();
  do tokens += await run(32);
  while (now() < until);
  return tokens / (Math.max(1e-3, now() - start) / 1000);
}
