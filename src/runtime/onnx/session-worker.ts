import { WorkerThread } from '../worker-thread.js';
import type { TokenPooling } from './pooling.js';
import type { BatchRequest, BatchResult, SessionShape, WorkerSetup } from './worker-protocol.js';

export interface PaddedBatch {
  ids: Int32Array;
  rows: number;
  seqLen: number;
  lengths: number[];
  pooling: TokenPooling;
}

/** An ONNX encoder session on its own thread (onnx-worker.ts), seen from the main thread. */
export class SessionWorker {
  private constructor(private readonly thread: WorkerThread<SessionShape, BatchRequest, BatchResult>) {}

  static async start(setup: WorkerSetup, label: string, signal?: AbortSignal): Promise<SessionWorker> {
    const thread = await WorkerThread.start<SessionShape, BatchRequest, BatchResult>(new URL('./onnx-worker', import.meta.url), setup, `${label}: ONNX Runtime (${setup.modelPath})`, signal);
    return new SessionWorker(thread);
  }

  get shape(): SessionShape {
    return this.thread.info;
  }

  run(batch: PaddedBatch): Promise<BatchResult> {
    return this.thread.run(batch, [batch.ids.buffer as ArrayBuffer]);
  }

  /** Lets batches already sent finish, then ends the thread. Idempotent. */
  dispose(): Promise<void> {
    return this.thread.dispose();
  }
}
