import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { EcapaShape } from '../../src/formats/speechbrain/index.js';
import { readTorchCheckpoint } from '../../src/formats/torch/index.js';
import { buildEcapaGraph } from '../../src/runtime/audio/ecapa-graph.js';
import { fbank, sentenceNormalize } from '../../src/runtime/audio/fbank.js';
import { busyCores, hostCpu } from '../proc/host-cpu.js';
import { speechClips, type SpeechClipOptions } from '../speech-clips.js';
import { childMain } from './child-io.js';
import type { EcapaOrtWorkerMessage, EcapaOrtWorkerReply, EcapaOrtWorkerSetup } from './ecapa-ort-worker.js';

/**
 * A1's baseline: raw onnxruntime-node on the same ECAPA graph hearth builds (from the same checkpoint), as a
 * careful user would run it: `sessions` sessions of `threads` intra-op threads, each on its own worker thread
 * (a session's run blocks the thread it is called on), fed batches of `batch` equal-length clips whose Fbank
 * features were computed before the clock starts. Every configuration runs `clips` clips; wall time and this
 * process's CPU time (all threads) are measured from handing out the work to the last batch's end.
 */
export interface EcapaOrtInput {
  repo: string;
  shape: EcapaShape;
  clips: SpeechClipOptions;
  configs: Array<{ sessions: number; threads: number; batch: number }>;
  clipsPerPoint: number;
}

export interface EcapaOrtPoint {
  sessions: number;
  threads: number;
  batch: number;
  clips: number;
  elapsedMs: number;
  rate: number;
  cpuMsPerClip: number;
  /** Cores this process kept busy, and the whole host (anything else included). */
  cores: number;
  hostCores: number;
}

const WORKER = new URL('./ecapa-ort-worker.ts', import.meta.url);

childMain<EcapaOrtInput, EcapaOrtPoint[]>(async (input) => {
  const state = await readTorchCheckpoint(join(input.repo, 'embedding_model.ckpt'));
  const graph = buildEcapaGraph(state, input.shape, input.repo);
  const features = speechClips(input.clips).map((wave) => {
    const { frames, bins, data } = fbank(wave);
    return { frames, bins, data: sentenceNormalize(data, frames, bins) };
  });
  const { frames, bins } = features[0]!;
  const points: EcapaOrtPoint[] = [];
  for (const config of input.configs) {
    const feats = new Float32Array(config.batch * frames * bins);
    for (let row = 0; row < config.batch; row++) feats.set(features[row % features.length]!.data, row * frames * bins);
    const setup: EcapaOrtWorkerSetup = { graph, threads: config.threads, feats, rows: config.batch, frames, bins };
    const workers = Array.from({ length: config.sessions }, () => spawn(setup));
    try {
      await Promise.all(workers.map((w) => reply(w, 'ready')));
      const counter = new SharedArrayBuffer(4);
      const cpu = process.cpuUsage();
      const host = hostCpu();
      const start = performance.now();
      const done = workers.map((w) => reply(w, 'done'));
      for (const w of workers) w.postMessage({ type: 'run', counter, total: input.clipsPerPoint } satisfies EcapaOrtWorkerMessage);
      const clips = (await Promise.all(done)).reduce((n, r) => n + (r.type === 'done' ? r.clips : 0), 0);
      const elapsedMs = performance.now() - start;
      const used = process.cpuUsage(cpu);
      const cpuMs = (used.user + used.system) / 1000;
      const hostCores = busyCores(host, hostCpu(), availableParallelism());
      points.push({ ...config, clips, elapsedMs, rate: clips / (elapsedMs / 1000), cpuMsPerClip: cpuMs / clips, cores: cpuMs / elapsedMs, hostCores });
    } finally {
      await Promise.all(workers.map((w) => w.terminate()));
    }
  }
  return points;
});

/** The worker from source: a worker thread does not inherit tsx's loader, so it registers tsx first (as hearth's own threads do). */
function spawn(setup: EcapaOrtWorkerSetup): Worker {
  const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER.href)}); });`;
  return new Worker(boot, { eval: true, workerData: setup });
}

function reply(worker: Worker, type: 'ready' | 'done'): Promise<EcapaOrtWorkerReply> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: EcapaOrtWorkerReply) => {
      if (message.type === 'failed') reject(new Error(message.message));
      else if (message.type === type) resolve(message);
      else return;
      worker.off('message', onMessage);
    };
    worker.on('message', onMessage);
    worker.once('error', reject);
  });
}
