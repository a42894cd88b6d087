import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { serveThread, type ThreadReply } from '../worker-thread.js';
import { features as featuresOf } from './front-end.js';
import { toMono16k } from './resample.js';
import type { SpeakerBatch, SpeakerBatchResult, SpeakerReady, SpeakerSetup } from './speaker-protocol.js';

/**
 * One ECAPA-TDNN session on its own thread, with the front end: resampling,
 * Fbank and normalization run here too (about 2 ms of a 3 s clip's 16 kHz
 * resampling and features, tens of ms from 44.1 kHz), off the event loop.
 */
const port = parentPort!;
const setup = workerData as SpeakerSetup;
const post = (reply: ThreadReply<SpeakerReady, SpeakerBatchResult>) => port.postMessage(reply);

async function main(): Promise<void> {
  const session = await ort.InferenceSession.create(setup.graph, {
    intraOpNumThreads: setup.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    enableCpuMemArena: true,
    enableMemPattern: true,
  });
  const meta = session.outputMetadata.find((m) => m.name === 'embedding');
  const dims = meta?.isTensor ? meta.shape.at(-1) : undefined;
  if (typeof dims !== 'number') throw new Error('the graph has no embedding output of a fixed size');
  serveThread<SpeakerBatch, SpeakerBatchResult>(
    port,
    async ({ clips }) => {
      const value = await run(session, clips, dims);
      return { value, transfer: [value.vectors.buffer as ArrayBuffer] };
    },
    () => session.release(),
  );
  post({ type: 'ready', info: { dims } });
}

async function run(session: ort.InferenceSession, clips: SpeakerBatch['clips'], dims: number): Promise<SpeakerBatchResult> {
  const features = clips.map((clip) => featuresOf(toMono16k(clip), setup.sentenceNorm));
  const { frames, bins } = features[0]!;
  if (features.some((f) => f.frames !== frames)) throw new Error('a batch mixed clips of different lengths');
  const feats = new Float32Array(clips.length * frames * bins);
  features.forEach((f, row) => feats.set(f.data, row * frames * bins));
  // Every row is whole (relative length 1): clips are batched only with clips of their own length,
  // so an embedding never depends on what else was in its batch.
  const lengths = new Float32Array(clips.length).fill(1);
  const outputs = await session.run({ feats: new ort.Tensor('float32', feats, [clips.length, frames, bins]), lengths: new ort.Tensor('float32', lengths, [clips.length]) });
  try {
    const embedding = outputs.embedding!;
    if (embedding.type !== 'float32' || embedding.dims.length !== 2 || embedding.dims[0] !== clips.length || embedding.dims[1] !== dims) {
      throw new Error(`embedding came back as ${embedding.type} [${embedding.dims.join(', ')}], expected float32 [${clips.length}, ${dims}]`);
    }
    return { vectors: (embedding.data as Float32Array).slice(), dims };
  } finally {
    for (const value of Object.values(outputs)) value.dispose();
  }
}

main().catch((error: unknown) => post({ type: 'failed', id: undefined, message: `cannot load the speaker model: ${(error as Error).message}` }));
