import { EventEmitter, once } from 'node:events';
import type { CpuGate } from '../../src/runtime/types.js';

/**
 * A CPU gate that records every unit of engine work that passes it, and can
 * be closed so that a test sees work actually wait at it.
 */
export class RecordingGate implements CpuGate {
  readonly threads: number[] = [];
  released = 0;
  #closed = false;
  readonly #waiting: Array<() => void> = [];
  readonly #events = new EventEmitter();

  async acquire(threads: number): Promise<() => void> {
    this.threads.push(threads);
    if (this.#closed) {
      await new Promise<void>((resolve) => {
        this.#waiting.push(resolve);
        this.#events.emit('waiting');
      });
    }
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.released++;
    };
  }

  get acquired(): number {
    return this.threads.length;
  }

  close(): void {
    this.#closed = true;
  }

  /** Resolves once some unit of work is waiting at the closed gate. */
  async someoneWaiting(): Promise<void> {
    if (this.#waiting.length === 0) await once(this.#events, 'waiting');
  }

  open(): void {
    this.#closed = false;
    for (const resolve of this.#waiting.splice(0)) resolve();
  }
}
