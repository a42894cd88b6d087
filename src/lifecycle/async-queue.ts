/**
 * Turns pushes from callbacks into an async iterator, so callback APIs
 * (node-llama-cpp's onTextChunk) can be consumed with `for await`.
 */
export class AsyncQueue<T> implements AsyncIterableIterator<T> {
  readonly #items: T[] = [];
  #waiter: ((result: IteratorResult<T>) => void) | undefined;
  #failer: ((error: unknown) => void) | undefined;
  #closed = false;
  #error: unknown;

  push(item: T): void {
    if (this.#closed) return;
    if (this.#waiter) {
      const resolve = this.#waiter;
      this.#waiter = this.#failer = undefined;
      resolve({ value: item, done: false });
    } else this.#items.push(item);
  }

  close(error?: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#error = error;
    if (!this.#waiter) return;
    const [resolve, reject] = [this.#waiter, this.#failer!];
    this.#waiter = this.#failer = undefined;
    if (error === undefined) resolve({ value: undefined, done: true });
    else reject(error);
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#items.length > 0) return Promise.resolve({ value: this.#items.shift()!, done: false });
    if (this.#closed) return this.#error === undefined ? Promise.resolve({ value: undefined, done: true }) : Promise.reject(this.#error);
    return new Promise((resolve, reject) => {
      this.#waiter = resolve;
      this.#failer = reject;
    });
  }

  async return(): Promise<IteratorResult<T>> {
    this.close();
    this.#items.length = 0;
    return { value: undefined, done: true };
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
