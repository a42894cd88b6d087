import { HearthError } from '../errors/index.js';

interface Item<Input, Output> {
  input: Input;
  signal: AbortSignal | undefined;
  resolve: (output: Output) => void;
  reject: (error: unknown) => void;
}

export interface SchedulerOptions<Worker, Input, Output> {
  maxRows: number;
  /** An input's size for planning: tokens of a text, frames of a clip. */
  sizeOf: (input: Input) => number;
  /** Splits a window's sizes into batches of at most `maxRows`; returns indices into `sizes`. */
  plan: (sizes: readonly number[], maxRows: number) => number[][];
  /** Runs one batch on a free worker; one output per input, in order. */
  run: (worker: Worker, inputs: Input[]) => Promise<Output[]>;
}

/**
 * Continuous batching over a set of engine workers (ONNX sessions on their
 * threads). Inputs from every caller wait in one FIFO queue; whenever a
 * worker is free it takes the queue's head window, planned into batches.
 * Under load the queue fills while workers run, so batches grow by
 * themselves; a lone request runs at once, without a timer.
 */
export class BatchScheduler<Worker, Input, Output> {
  readonly #queue: Array<Item<Input, Output>> = [];
  /** Batches planned from one window, run before the next window is taken, so no item waits behind newer ones. */
  readonly #planned: Array<Array<Item<Input, Output>>> = [];
  readonly #idle: Worker[];
  #pending: NodeJS.Immediate | undefined;
  #runningRows = 0;
  #closed = false;

  constructor(
    private readonly workers: readonly Worker[],
    private readonly options: SchedulerOptions<Worker, Input, Output>,
  ) {
    this.#idle = [...workers];
  }

  /** One output per input, in order. */
  submit(inputs: readonly Input[], signal?: AbortSignal): Promise<Output[]> {
    if (this.#closed) return Promise.reject(new HearthError('ABORTED', 'the model was unloaded'));
    const results = inputs.map((input) => new Promise<Output>((resolve, reject) => this.#queue.push({ input, signal, resolve, reject })));
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

  #next(): Array<Item<Input, Output>> | undefined {
    if (this.#planned.length === 0) {
      const window = this.#queue.splice(0, this.options.maxRows * this.workers.length * 4).filter((item) => {
        if (!item.signal?.aborted) return true;
        item.reject(new HearthError('ABORTED', 'request aborted', { cause: item.signal.reason }));
        return false;
      });
      // Each worker's fair share of all the work in hand (queued and running): one worker taking the
      // whole queue would leave the others with stragglers, and its callers would all wait on it.
      const share = Math.max(1, Math.ceil((window.length + this.#runningRows) / this.workers.length));
      const plan = this.options.plan(window.map((item) => this.options.sizeOf(item.input)), Math.min(this.options.maxRows, share));
      this.#planned.push(...plan.map((indices) => indices.map((i) => window[i]!)));
    }
    return this.#planned.shift();
  }

  async #run(worker: Worker, items: Array<Item<Input, Output>>): Promise<void> {
    try {
      const outputs = await this.options.run(worker, items.map((item) => item.input));
      items.forEach((item, row) => item.resolve(outputs[row]!));
    } catch (error) {
      for (const item of items) item.reject(error);
    }
  }
}
