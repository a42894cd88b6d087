import { HearthError } from '../errors/index.js';
import { BatchScheduler, type SchedulerOptions } from './batch-scheduler.js';
import type { Parallelism } from './types.js';

export interface SessionSetOptions<Worker, Input, Output> {
  /** Starts `parallelism.parallel` engine threads of `parallelism.threads` intra-op threads each. */
  start(parallelism: Parallelism, signal?: AbortSignal): Promise<Worker[]>;
  /** How batches are planned and run on these workers. */
  scheduling(parallelism: Parallelism): SchedulerOptions<Worker, Input, Output>;
}

/**
 * An ONNX model's session threads behind one batch scheduler: what a
 * text encoder and a speaker model share. configure() starts new threads and
 * lets batches already running finish on the old ones; dispose is idempotent.
 */
export class SessionSet<Worker extends { dispose(): Promise<void> }, Input, Output> {
  #parallelism: Parallelism;
  #workers: Worker[];
  #scheduler: BatchScheduler<Worker, Input, Output>;
  #disposed: Promise<void> | undefined;

  private constructor(
    private readonly options: SessionSetOptions<Worker, Input, Output>,
    parallelism: Parallelism,
    workers: Worker[],
  ) {
    this.#parallelism = { threads: parallelism.threads, parallel: parallelism.parallel };
    this.#workers = workers;
    this.#scheduler = new BatchScheduler(workers, options.scheduling(this.#parallelism));
  }

  static async start<W extends { dispose(): Promise<void> }, I, O>(options: SessionSetOptions<W, I, O>, parallelism: Parallelism, signal?: AbortSignal): Promise<SessionSet<W, I, O>> {
    return new SessionSet(options, parallelism, await options.start(parallelism, signal));
  }

  get parallelism(): Parallelism {
    return this.#parallelism;
  }

  get workers(): readonly Worker[] {
    return this.#workers;
  }

  get disposed(): boolean {
    return this.#disposed !== undefined;
  }

  submit(inputs: readonly Input[], signal?: AbortSignal): Promise<Output[]> {
    return this.#scheduler.submit(inputs, signal);
  }

  async configure(parallelism: Parallelism): Promise<void> {
    if (this.#disposed) throw new HearthError('ABORTED', 'the model was unloaded');
    if (parallelism.threads === this.#parallelism.threads && parallelism.parallel === this.#parallelism.parallel) return;
    const workers = await this.options.start(parallelism);
    const old = this.#workers;
    this.#scheduler.close();
    this.#parallelism = { threads: parallelism.threads, parallel: parallelism.parallel };
    this.#workers = workers;
    this.#scheduler = new BatchScheduler(workers, this.options.scheduling(this.#parallelism));
    await Promise.all(old.map((w) => w.dispose()));
  }

  dispose(): Promise<void> {
    this.#disposed ??= (async () => {
      this.#scheduler.close();
      await Promise.all(this.#workers.map((w) => w.dispose()));
    })();
    return this.#disposed;
  }
}
