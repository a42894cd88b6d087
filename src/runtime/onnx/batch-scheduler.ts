import { HearthError } from '../../errors/index.js';
import { planBatches, type BatchLimits } from './batch-plan.js';
import type { BatchObserver, CpuGate } from '../types.js';
import type { TokenPooling } from './pooling.js';
import type { SessionWorker } from './session-worker.js';

interface Item {
  ids: number[];
  signal: AbortSignal | undefined;
  resolve: (vector: Float32Array) => void;
  reject: (error: unknown) => void;
}

export interface SchedulerOptions extends BatchLimits {
  pooling: TokenPooling;
  padId: number;
  onBatch?: BatchObserver | undefined;
  /** Taken for each batch, with the session's intra-op threads. */
  cpu: CpuGate;
  threads: number;
}

/**
 * Continuous batching over a set of session workers. Sequences from every
 * caller wait in one FIFO queue; whenever a worker is free it takes the
 * queue's head window, sorted by length into padded batches within the token
 * budget. Under load the queue fills while workers run, so batches grow
 * by themselves; a lone request runs at once, without a timer.
 */
export class BatchScheduler {
  readonly #queue: Item[] = [];
  /** Batches planned from one window, run before the next window is taken, so no item waits behind newer ones. */
  readonly #planned: Item[][] = [];
  readonly #idle: SessionWorker[];
  #pending: NodeJS.Immediate | undefined;
  #runningRows = 0;
  #closed = false;

  constructor(
    private readonly workers: readonly SessionWorker[],
    private readonly options: SchedulerOptions,
  ) {
    this.#idle = [...workers];
  }

  /** Pooled (not yet normalized) vectors, one per sequence, in order. */
  submit(sequences: readonly number[][], signal?: AbortSignal): Promise<Float32Array[]> {
    if (this.#closed) return Promise.reject(new HearthError('ABORTED', 'the model was unloaded'));
    const results = sequences.map(
      (ids) => new Promise<Float32Array>((resolve, reject) => this.#queue.push({ ids, signal, resolve, reject })),
    );
    this.#schedule();
    return Promise.all(results);
  }

  /** Refuses new work; queued and running batches still finish. */
  close(): void {
    this.#closed = true;
  }

  /**
   * Dispatches on the next turn of the event loop rather than now: callers
   * whose results just arrived resubmit within a few microtask hops, and
   * network reads land in the same turn, so waiting one turn lets them join
   * the batch instead of leaving a worker to run a lone straggler.
   */
  #schedule(): void {
    if (this.#pending) return;
    this.#pending = setImmediate(() => {
      this.#pending = undefined;
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#idle.length > 0) {
      const batch = this.#next();
      if (!batch) return;
      const worker = this.#idle.pop()!;
      this.#runningRows += batch.length;
      void this.#run(worker, batch).finally(() => {
        this.#runningRows -= batch.length;
        this.#idle.push(worker);
        this.#schedule();
      });
    }
  }

  #next(): Item[] | undefined {
    if (this.#planned.length === 0) {
      const window = this.#queue.splice(0, this.options.maxRows * this.workers.length * 4).filter((item) => {
        if (!item.signal?.aborted) return true;
        item.reject(new HearthError('ABORTED', 'request aborted', { cause: item.signal.reason }));
        return false;
      });
      // Each worker's fair share of all the work in hand (queued and running): one worker taking the
      // whole queue would leave the others with stragglers, and its callers would all wait on it.
      const share = Math.max(1, Math.ceil((window.length + this.#runningRows) / this.workers.length));
      const plan = planBatches(window.map((item) => item.ids.length), { maxTokens: this.options.maxTokens, maxRows: Math.min(this.options.maxRows, share) });
      this.#planned.push(...plan.map((indices) => indices.map((i) => window[i]!)));
    }
    return this.#planned.shift();
  }

  async #run(worker: SessionWorker, items: Item[]): Promise<void> {
    const seqLen = Math.max(...items.map((item) => item.ids.length));
    const ids = new Int32Array(items.length * seqLen).fill(this.options.padId);
    items.forEach((item, row) => ids.set(item.ids, row * seqLen));
    try {
      const lengths = items.map((item) => item.ids.length);
      const release = await this.options.cpu.acquire(this.options.threads);
      const { vectors, hidden } = await worker.run({ ids, rows: items.length, seqLen, lengths, pooling: this.options.pooling }).finally(release);
      items.forEach((item, row) => item.resolve(vectors.slice(row * hidden, (row + 1) * hidden)));
      this.options.onBatch?.({ rows: items.length, tokens: lengths.reduce((a, b) => a + b, 0), paddedTokens: items.length * seqLen });
    } catch (error) {
      for (const item of items) item.reject(error);
    }
  }
}
