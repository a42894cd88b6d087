import type { Worker } from 'node:worker_threads';
import { HearthError } from '../errors/index.js';
import { raceAbort } from '../lifecycle/abortable.js';
import { spawnWorker } from '../lifecycle/spawn-worker.js';
import type { DigestKind } from './digest.js';
import type { HasherReply, HasherRequest, HasherSetup } from './hash-protocol.js';

/**
 * Hashes a file on a worker thread while it is still being written: the
 * downloader reports how far the file is contiguous from byte 0, and the
 * thread hashes up to there. sha256 runs at about 1.1 GB/s on this class of
 * machine, as fast as loopback delivers; on the main thread it would take
 * that core from the sockets and stall every other request for a millisecond
 * per MiB.
 */
export class FileHasher {
  readonly #worker: Worker;
  readonly #done: Promise<{ digest: string; bytes: number }>;
  #reported = 0;
  #closed = false;

  private constructor(setup: HasherSetup, label: string) {
    this.#worker = spawnWorker(new URL('./hash-thread', import.meta.url), setup);
    this.#done = new Promise((resolve, reject) => {
      this.#worker.on('message', (reply: HasherReply) => {
        if (reply.type === 'digest') resolve({ digest: reply.digest, bytes: reply.bytes });
        else reject(new HearthError('IO_ERROR', `cannot hash ${label}: ${reply.message}`));
      });
      this.#worker.on('error', (error) => reject(new HearthError('INTERNAL', `the hash thread for ${label} failed: ${error.message}`, { cause: error })));
      this.#worker.on('exit', (code) => reject(new HearthError('INTERNAL', `the hash thread for ${label} exited (code ${code}) before its digest`)));
    });
    // Never an unhandled rejection: a hasher that is disposed unread (an attempt that failed) rejects unobserved.
    this.#done.catch(() => undefined);
  }

  /** Starts hashing `path` as it grows; `size` is the final length (git blob digests hash it up front). */
  static start(path: string, kind: DigestKind, size: number, label: string): FileHasher {
    return new FileHasher({ path, kind, size }, label);
  }

  /** Bytes [0, to) are on disk. Reports only forward movement. */
  advance(to: number): void {
    if (to <= this.#reported || this.#closed) return;
    this.#reported = to;
    this.#send({ type: 'advance', to });
  }

  /** The digest of everything reported, once the thread has caught up with it. */
  async digest(signal?: AbortSignal): Promise<{ digest: string; bytes: number }> {
    this.#send({ type: 'finish' });
    try {
      return await raceAbort(this.#done, signal);
    } finally {
      await this.dispose();
    }
  }

  /** Ends the thread, finished or not. Idempotent. */
  async dispose(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#worker.terminate();
  }

  #send(request: HasherRequest): void {
    this.#worker.postMessage(request);
  }
}
