import type { Worker } from 'node:worker_threads';
import { HearthError } from '../errors/index.js';
import { raceAbort } from '../lifecycle/abortable.js';
import { spawnWorker } from '../lifecycle/spawn-worker.js';

/**
 * The messages an engine thread sends back: `ready` once, with what it loaded;
 * then a `result` or a `failed` per request; a `failed` without an id is fatal.
 */
export type ThreadReply<Ready, Result> =
  | { type: 'ready'; info: Ready }
  | { type: 'result'; id: number; value: Result }
  | { type: 'failed'; id: number | undefined; message: string };

export type ThreadRequest<Request> = { type: 'run'; id: number; request: Request } | { type: 'dispose' };

interface Pending<Result> {
  resolve: (value: Result) => void;
  reject: (error: unknown) => void;
}

/**
 * An engine on its own thread, seen from the main thread: start it, send it
 * requests, dispose it. onnxruntime-node runs inferences synchronously on the
 * calling thread, so on the main thread one batch would stall every HTTP
 * request (health checks included) for its whole duration.
 */
export class WorkerThread<Ready, Request, Result> {
  readonly #pending = new Map<number, Pending<Result>>();
  readonly #inflight = new Set<Promise<unknown>>();
  #nextId = 0;
  #failure: HearthError | undefined;
  #disposed: Promise<void> | undefined;

  private constructor(
    private readonly worker: Worker,
    readonly info: Ready,
    private readonly label: string,
  ) {
    worker.on('message', (reply: ThreadReply<Ready, Result>) => this.#settle(reply));
    worker.on('error', (error) => this.#fail(new HearthError('INFERENCE_FAILED', `${label}: the engine thread crashed: ${error.message}`, { cause: error })));
    worker.on('exit', (code) => this.#fail(new HearthError('INFERENCE_FAILED', `${label}: the engine thread exited (code ${code})`)));
  }

  /** Starts `entry` (a module next to the caller, named without extension) and waits for its `ready`. */
  static async start<Ready, Request, Result>(entry: URL, setup: unknown, label: string, signal?: AbortSignal): Promise<WorkerThread<Ready, Request, Result>> {
    const worker = spawnWorker(entry, setup);
    let onMessage!: (reply: ThreadReply<Ready, Result>) => void;
    let onError!: (error: Error) => void;
    let onExit!: (code: number) => void;
    const ready = new Promise<Ready>((resolve, reject) => {
      onMessage = (reply) => {
        if (reply.type === 'ready') resolve(reply.info);
        else reject(new HearthError('MODEL_LOAD_FAILED', `${label}: ${reply.type === 'failed' ? reply.message : reply.type}`));
      };
      onError = (error) => reject(new HearthError('MODEL_LOAD_FAILED', `${label}: the engine thread failed to start: ${error.message}`, { cause: error }));
      onExit = (code) => reject(new HearthError('MODEL_LOAD_FAILED', `${label}: the engine thread exited while loading (code ${code})`));
      worker.once('message', onMessage).once('error', onError).once('exit', onExit);
    });
    try {
      const info = await raceAbort(ready, signal);
      // Attach the long-lived listeners before dropping these: a Worker with no 'message' listener unrefs its port.
      const thread = new WorkerThread<Ready, Request, Result>(worker, info, label);
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      return thread;
    } catch (error) {
      await worker.terminate();
      throw error;
    }
  }

  /** Sends one request; `transfer` lists buffers handed over to the thread (unusable here afterwards). */
  run(request: Request, transfer: ArrayBuffer[] = []): Promise<Result> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#disposed) return Promise.reject(new HearthError('ABORTED', `${this.label}: the model was unloaded`));
    const id = this.#nextId++;
    const result = new Promise<Result>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'run', id, request } satisfies ThreadRequest<Request>, transfer);
    });
    this.#inflight.add(result);
    const forget = () => this.#inflight.delete(result);
    result.then(forget, forget);
    return result;
  }

  /** Lets requests already sent finish, then ends the thread. Idempotent. */
  dispose(): Promise<void> {
    this.#disposed ??= (async () => {
      await Promise.allSettled([...this.#inflight]);
      const exited = new Promise((resolve) => this.worker.once('exit', resolve));
      this.worker.postMessage({ type: 'dispose' } satisfies ThreadRequest<Request>);
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
      await this.worker.terminate();
    })();
    return this.#disposed;
  }

  #settle(reply: ThreadReply<Ready, Result>): void {
    if (reply.type === 'ready') return;
    if (reply.id === undefined) return this.#fail(new HearthError('INFERENCE_FAILED', `${this.label}: ${reply.type === 'failed' ? reply.message : 'unexpected reply'}`));
    const pending = this.#pending.get(reply.id);
    if (!pending) return;
    this.#pending.delete(reply.id);
    if (reply.type === 'result') pending.resolve(reply.value);
    else pending.reject(new HearthError('INFERENCE_FAILED', `${this.label}: ${reply.message}`));
  }

  #fail(error: HearthError): void {
    if (this.#disposed && this.#pending.size === 0) return;
    this.#failure ??= error;
    for (const pending of this.#pending.values()) pending.reject(this.#failure);
    this.#pending.clear();
  }
}

/** Starts `count` engines at once; if one fails, the started ones are disposed and its error thrown. */
export async function startAll<T extends { dispose(): Promise<void> }>(count: number, start: () => Promise<T>): Promise<T[]> {
  const started = await Promise.allSettled(Array.from({ length: count }, start));
  const ok = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(ok.map((t) => t.dispose()));
    throw failed.reason;
  }
  return ok;
}

/** The thread side: answers `run` requests with `handle`, in arrival order of completion, until `dispose`. */
export function serveThread<Request, Result>(
  port: import('node:worker_threads').MessagePort,
  handle: (request: Request) => Promise<{ value: Result; transfer?: ArrayBuffer[] }>,
  release: () => Promise<void>,
): void {
  port.on('message', (message: ThreadRequest<Request>) => {
    if (message.type === 'dispose') {
      void release().finally(() => process.exit(0));
      return;
    }
    handle(message.request).then(
      ({ value, transfer }) => port.postMessage({ type: 'result', id: message.id, value } satisfies ThreadReply<never, Result>, transfer ?? []),
      (error: unknown) => port.postMessage({ type: 'failed', id: message.id, message: (error as Error).message } satisfies ThreadReply<never, Result>),
    );
  });
}
