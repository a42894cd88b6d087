import { abortError } from '../errors/index.js';

interface Flight<V> {
  promise: Promise<V>;
  controller: AbortController;
  waiters: number;
}

/**
 * Runs at most one operation per key; concurrent callers share its result.
 * Each caller may abort its own wait; the shared work is aborted only when
 * every caller has given up, so one impatient client never cancels another's pull.
 */
export class SingleFlight<K, V> {
  readonly #flights = new Map<K, Flight<V>>();

  run(key: K, work: (signal: AbortSignal) => Promise<V>, signal?: AbortSignal): Promise<V> {
    // A caller that has already given up starts nothing.
    if (signal?.aborted) return Promise.reject(abortError(signal));
    let flight = this.#flights.get(key);
    if (!flight) {
      const controller = new AbortController();
      const promise: Promise<V> = work(controller.signal).finally(() => {
        if (this.#flights.get(key) === flight) this.#flights.delete(key);
      });
      // Waiters see the outcome through their own handlers; when every one of them has left (or the
      // only caller's signal had already fired), nobody else would, and a failure would crash the process.
      promise.catch(() => undefined);
      flight = { promise, controller, waiters: 0 };
      this.#flights.set(key, flight);
    }
    return this.#wait(key, flight, signal);
  }

  get size(): number {
    return this.#flights.size;
  }

  #wait(key: K, flight: Flight<V>, signal: AbortSignal | undefined): Promise<V> {
    flight.waiters++;
    if (!signal) return flight.promise.finally(() => flight.waiters--);
    return new Promise<V>((resolve, reject) => {
      let left = false;
      const leave = () => {
        if (left) return false;
        left = true;
        signal.removeEventListener('abort', onAbort);
        flight.waiters--;
        return true;
      };
      const onAbort = () => {
        if (!leave()) return;
        if (flight.waiters === 0) {
          // Forget the dying flight now, so a newcomer starts fresh work instead of joining it.
          if (this.#flights.get(key) === flight) this.#flights.delete(key);
          flight.controller.abort(signal.reason);
        }
        reject(abortError(signal));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      flight.promise.then(
        (value) => leave() && resolve(value),
        (error: unknown) => leave() && reject(error),
      );
    });
  }
}
