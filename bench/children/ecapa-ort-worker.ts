import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';

/**
 * One thread of A1's baseline: a plain onnxruntime-node session on the ECAPA graph, fed batches of
 * precomputed features. It claims `rows` clips at a time from a shared counter until `total` are done.
 */
export interface EcapaOrtWorkerSetup {
  graph: Uint8Array;
  threads: number;
  /** [rows, frames, bins] features, sentence-normalized. */
  feats: Float32Array;
  rows: number;
  frames: number;
  bins: number;
}

export interface EcapaOrtWorkerMessage {
  type: 'run';
  counter: SharedArrayBuffer;
  total: number;
}
export type EcapaOrtWorkerReply = { type: 'ready' } | { type: 'done'; clips: number } | { type: 'failed'; message: string };

const setup = workerData as EcapaOrtWorkerSetup;
const port = parentPort!;

async function main(): Promise<void> {
  const session = await ort.InferenceSession.create(setup.graph, {
    intraOpNumThreads: setup.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const { rows, frames, bins } = setup;
  const run = async (n: number) => {
    const feats = new ort.Tensor('float32', setup.feats.subarray(0, n * frames * bins), [n, frames, bins]);
    const lengths = new ort.Tensor('float32', new Float32Array(n).fill(1), [n]);
    const out = await session.run({ feats, lengths });
    const embedding = out.embedding!;
    if (!(embedding.data as Float32Array).every(Number.isFinite)) throw new Error('non-finite embedding');
    for (const value of Object.values(out)) value.dispose();
  };
  // Twice: the first run of a shape plans its memory, the second is the steady state.
  await run(rows);
  await run(rows);
  port.on('message', (message: EcapaOrtWorkerMessage) => {
    const counter = new Int32Array(message.counter);
    void (async () => {
      let clips = 0;
      for (;;) {
        const start = Atomics.add(counter, 0, rows);
        if (start >= message.total) break;
        const n = Math.min(rows, message.total - start);
        await run(n);
        clips += n;
      }
      port.postMessage({ type: 'done', clips } satisfies EcapaOrtWorkerReply);
    })().catch((error: unknown) => port.postMessage({ type: 'failed', message: String(error) } satisfies EcapaOrtWorkerReply));
  });
  port.postMessage({ type: 'ready' } satisfies EcapaOrtWorkerReply);
}

main().catch((error: unknown) => port.postMessage({ type: 'failed', message: String(error) } satisfies EcapaOrtWorkerReply));
