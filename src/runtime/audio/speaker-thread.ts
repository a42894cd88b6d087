import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { openSession } from '../onnx/open-session.js';
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
  const session = await openSession(setup.graph, setup.threads);
  const { features, lengths, output } = setup.names;
  const missing = [features, ...(lengths === undefined ? [] : [lengths])].filter((name) => !session.inputNames.includes(name));
  if (missing.length > 0) throw new Error(`the graph has no input ${missing.join(', ')} (its inputs are ${session.inputNames.join(', ')})`);
  const meta = session.outputMetadata.find((m) => m.name === output);
  const dims = meta?.isTensor ? meta.shape.at(-1) : undefined;
  if (typeof dims !== 'number') throw new Error(`the graph has no output ${output} whose last dimension is fixed (its outputs are ${session.outputNames.join(', ')})`);
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
  const { names } = setup;
  const feeds: Record<string, ort.Tensor> = { [names.features]: new ort.Tensor('float32', feats, [clips.length, frames, bins]) };
  if (names.lengths !== undefined) feeds[names.lengths] = new ort.Tensor('float32', new Float32Array(clips.length).fill(1), [clips.length]);
  const outputs = await session.run(feeds, [names.output]);
  try {
    const embedding = outputs[names.output]!;
    // Exports keep SpeechBrain's [batch, 1, dims] or flatten it to [batch, dims]; the values are the same.
    const shapeOk = embedding.dims[0] === clips.length && embedding.dims.at(-1) === dims && embedding.dims.length <= 3 && embedding.data.length === clips.length * dims;
    if (embedding.type !== 'float32' || !shapeOk) {
      throw new Error(`${names.output} came back as ${embedding.type} [${embedding.dims.join(', ')}], expected float32 [${clips.length}, ${dims}]`);
    }
    return { vectors: (embedding.data as Float32Array).slice(), dims };
  } finally {
    for (const value of Object.values(outputs)) value.dispose();
  }
}

main().catch((error: unknown) => post({ type: 'failed', id: undefined, message: `cannot load the speaker model: ${(error as Error).message}` }));
