import { abortError, HearthError } from '../errors/index.js';

/** Counts free slots (contexts, sequences, CPU threads); waiters are served first come, first served. */
export class Semaphore {
  #free: number;
  readonly #waiters: Array<{ n: number; resolve: () => void }> = [];

  constructor(readonly capacity: number) {
    this.#free = capacity;
  }

  get free(): number {
    return this.#free;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  /** Takes `n` slots, waiting as long as needed; the returned function gives them back (once). */
  async acquire(n = 1, signal?: AbortSignal): Promise<() => void> {
    if (n > this.capacity) throw new HearthError('INTERNAL', `asked for ${n} of ${this.capacity} slots`);
    if (signal?.aborted) throw abortError(signal);
    if (this.#waiters.length === 0 && this.#free >= n) {
      this.#free -= n;
      return this.#releaser(n);
    }
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const i = this.#waiters.indexOf(waiter);
        if (i < 0) return;
        this.#waiters.splice(i, 1);
        this.#drain();
        reject(abortError(signal!));
      };
      const waiter = {
        n,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      this.#waiters.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    return this.#releaser(n);
  }

  #releaser(n: number): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#free += n;
      this.#drain();
    };
  }

  #drain(): void {
    while (this.#waiters.length > 0 && this.#free >= this.#waiters[0]!.n) {
      const waiter = this.#waiters.shift()!;
      this.#free -= waiter.n;
      waiter.resolve();
    }
  }
}
