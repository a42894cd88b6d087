import { Worker } from 'node:worker_threads';
import { HearthError } from '../../errors/index.js';
import { raceAbort } from '../../lifecycle/abortable.js';
import type { TokenPooling } from './pooling.js';
import type { SessionShape, WorkerReply, WorkerRequest, WorkerSetup } from './worker-protocol.js';

export interface PaddedBatch {
  ids: Int32Array;
  rows: number;
  seqLen: number;
  lengths: number[];
  pooling: TokenPooling;
}

interface Pending {
  resolve: (result: { vectors: Float32Array; hidden: number }) => void;
  reject: (error: unknown) => void;
}

/** A session worker thread, seen from the main thread: start, run batches, dispose. */
export class SessionWorker {
  readonly #pending = new Map<number, Pending>();
  readonly #inflight = new Set<Promise<unknown>>();
  #nextId = 0;
  #failure: HearthError | undefined;
  #disposed: Promise<void> | undefined;

  private constructor(
    private readonly worker: Worker,
    readonly shape: SessionShape,
    private readonly label: string,
  ) {
    worker.on('message', (reply: WorkerReply) => this.#settle(reply));
    worker.on('error', (error) => this.#fail(new HearthError('INFERENCE_FAILED', `${label}: the ONNX session thread crashed: ${error.message}`, { cause: error })));
    worker.on('exit', (code) => this.#fail(new HearthError('INFERENCE_FAILED', `${label}: the ONNX session thread exited (code ${code})`)));
  }

  static async start(setup: WorkerSetup, label: string, signal?: AbortSignal): Promise<SessionWorker> {
    const worker = spawn(setup);
    let onMessage!: (reply: WorkerReply) => void;
    let onError!: (error: Error) => void;
    let onExit!: (code: number) => void;
    const ready = new Promise<SessionShape>((resolve, reject) => {
      onMessage = (reply) => {
        if (reply.type === 'ready') resolve({ inputs: reply.inputs, output: reply.output, hidden: reply.hidden });
        else reject(new HearthError('MODEL_LOAD_FAILED', `${label}: ONNX Runtime cannot load ${setup.modelPath}: ${reply.type === 'failed' ? reply.message : reply.type}`));
      };
      onError = (error) => reject(new HearthError('MODEL_LOAD_FAILED', `${label}: the ONNX session thread failed to start: ${error.message}`, { cause: error }));
      onExit = (code) => reject(new HearthError('MODEL_LOAD_FAILED', `${label}: the ONNX session thread exited while loading (code ${code})`));
      worker.once('message', onMessage).once('error', onError).once('exit', onExit);
    });
    try {
      const shape = await raceAbort(ready, signal);
      // Attach the long-lived listeners before dropping these: a Worker with no 'message' listener unrefs its port.
      const session = new SessionWorker(worker, shape, label);
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      return session;
    } catch (error) {
      await worker.terminate();
      throw error;
    }
  }

  run(batch: PaddedBatch): Promise<{ vectors: Float32Array; hidden: number }> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#disposed) return Promise.reject(new HearthError('ABORTED', `${this.label}: the model was unloaded`));
    const id = this.#nextId++;
    const result = new Promise<{ vectors: Float32Array; hidden: number }>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      const request: WorkerRequest = { type: 'run', id, ...batch };
      this.worker.postMessage(request, [batch.ids.buffer as ArrayBuffer]);
    });
    this.#inflight.add(result);
    const forget = () => this.#inflight.delete(result);
    result.then(forget, forget);
    return result;
  }

  /** Lets batches already sent finish, then ends the thread. Idempotent. */
  dispose(): Promise<void> {
    this.#disposed ??= (async () => {
      await Promise.allSettled([...this.#inflight]);
      const exited = new Promise((resolve) => this.worker.once('exit', resolve));
      this.worker.postMessage({ type: 'dispose' } satisfies WorkerRequest);
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
      await this.worker.terminate();
    })();
    return this.#disposed;
  }

  #settle(reply: WorkerReply): void {
    if (reply.type === 'ready') return;
    if (reply.id === undefined) return this.#fail(new HearthError('INFERENCE_FAILED', `${this.label}: ${reply.type === 'failed' ? reply.message : 'unexpected reply'}`));
    const pending = this.#pending.get(reply.id);
    if (!pending) return;
    this.#pending.delete(reply.id);
    if (reply.type === 'result') pending.resolve({ vectors: reply.vectors, hidden: reply.hidden });
    else pending.reject(new HearthError('INFERENCE_FAILED', `${this.label}: ONNX Runtime failed on a batch: ${reply.message}`));
  }

  #fail(error: HearthError): void {
    if (this.#disposed && this.#pending.size === 0) return;
    this.#failure ??= error;
    for (const pending of this.#pending.values()) pending.reject(this.#failure);
    this.#pending.clear();
  }
}

/**
 * From dist the worker is plain JavaScript. From source (tests, `node --import
 * tsx`), a worker does not inherit tsx's loader, so it registers tsx first,
 * found from this file, so hearth runs from source in any current folder.
 */
function spawn(setup: WorkerSetup): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(fromSource ? './onnx-worker.ts' : './onnx-worker.js', import.meta.url);
  if (!fromSource) return new Worker(entry, { workerData: setup });
  // Resolved here: an eval'd worker would resolve the bare name from the current folder, not from hearth's.
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(boot, { eval: true, workerData: setup });
}
