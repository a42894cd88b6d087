import { HearthError } from '../../errors/index.js';
import type { SchedulerOptions } from '../batch-scheduler.js';
import { onnxEngineIdentity } from '../onnx/onnx-build.js';
import { SessionSet } from '../session-set.js';
import type { AudioEmbedOptions, AudioInput, BatchObserver, CpuGate, EmbedResult, GenerateEvent, LoadedModel, ModelInfo, Parallelism, RuntimeIdentity, SpeakerFacts } from '../types.js';
import { checkedVector } from '../vector.js';
import { startAll, WorkerThread } from '../worker-thread.js';
import { FBANK_SAMPLE_RATE, HOP_LENGTH } from './fbank.js';
import { resampledLength } from './resample.js';
import type { SpeakerBatch, SpeakerBatchResult, SpeakerReady, SpeakerSetup } from './speaker-protocol.js';
import type { SpeakerSource } from './speaker-source.js';

export interface SpeakerModelSettings extends Parallelism {
  ref: string;
  maxRows: number;
  onBatch: BatchObserver | undefined;
  cpu: CpuGate;
  engineVersion: string;
  cpuVariant: string;
}

type SpeakerThread = WorkerThread<SpeakerReady, SpeakerBatch, SpeakerBatchResult>;

/**
 * A speaker-embedding model on ONNX Runtime: `parallel` threads of
 * `threads` intra-op threads each, fed by one batch scheduler that batches
 * clips of equal length only. SpeechBrain pads a batch to its longest clip,
 * and the padding moves every shorter clip's embedding (its convolutions see
 * the padded frames); hearth's embedding of a clip is the same whatever else
 * was in its batch.
 */
export class SpeakerLoadedModel implements LoadedModel {
  readonly speaker: SpeakerFacts;

  private constructor(
    private readonly source: SpeakerSource,
    private readonly settings: SpeakerModelSettings,
    private readonly sessions: SessionSet<SpeakerThread, AudioInput, Float32Array>,
  ) {
    this.speaker = { sampleRate: FBANK_SAMPLE_RATE, minSamples: source.minSamples, dims: sessions.workers[0]!.info.dims };
  }

  static async create(source: SpeakerSource, settings: SpeakerModelSettings, signal?: AbortSignal): Promise<SpeakerLoadedModel> {
    const setup = (threads: number): SpeakerSetup => ({ graph: source.graph, names: source.names, threads, sentenceNorm: source.sentenceNorm });
    const entry = new URL('./speaker-thread', import.meta.url);
    const sessions = await SessionSet.start<SpeakerThread, AudioInput, Float32Array>(
      {
        start: (p, startSignal) => startAll(p.parallel, () => WorkerThread.start<SpeakerReady, SpeakerBatch, SpeakerBatchResult>(entry, setup(p.threads), `${settings.ref}: ONNX Runtime`, startSignal)),
        scheduling: (p) => scheduling(settings, p.threads),
      },
      settings,
      signal,
    );
    const dims = sessions.workers[0]!.info.dims;
    if (source.embeddingMean !== undefined && source.embeddingMean.length !== dims) {
      await sessions.dispose();
      throw new HearthError('MODEL_UNSUPPORTED', `${settings.ref}: the embedding mean has ${source.embeddingMean.length} values and the embeddings ${dims}`);
    }
    return new SpeakerLoadedModel(source, settings, sessions);
  }

  get info(): ModelInfo {
    return this.source.info;
  }

  get identity(): RuntimeIdentity {
    return {
      ...onnxEngineIdentity(this.settings.engineVersion, this.settings.cpuVariant),
      digest: this.source.digest,
      ...this.sessions.parallelism,
      contextSize: 0,
      pooling: undefined,
      normalize: false,
    };
  }

  get maxInputTokens(): number {
    return 0;
  }

  get specialTokens(): number {
    return 0;
  }

  countTokens(): number {
    throw this.#notText();
  }

  async embed(): Promise<EmbedResult> {
    throw this.#notText();
  }

  async *generate(): AsyncIterable<GenerateEvent> {
    throw this.#notText();
  }

  /** One embedding per clip; clips shorter than the network takes are AUDIO_TOO_SHORT. */
  async embedAudio(clips: readonly AudioInput[], options: AudioEmbedOptions = {}): Promise<Float32Array[]> {
    if (this.sessions.disposed) throw new HearthError('ABORTED', `${this.settings.ref} was unloaded`);
    for (const [index, clip] of clips.entries()) this.#checkLength(clip, index);
    const mean = options.normalize ? this.source.embeddingMean : undefined;
    if (options.normalize && !mean) {
      throw new HearthError('MODEL_UNSUPPORTED', `${this.settings.ref} has no embedding mean (mean_var_norm_emb), so it cannot normalize embeddings`);
    }
    const vectors = await this.sessions.submit(clips, options.signal);
    return vectors.map((v) => checkedVector(mean ? v.map((x, i) => x - mean[i]!) : v, false));
  }

  /** New threads with the new settings; batches already running finish on the old ones. */
  configure(parallelism: Parallelism): Promise<void> {
    return this.sessions.configure(parallelism);
  }

  dispose(): Promise<void> {
    return this.sessions.dispose();
  }

  #checkLength(clip: AudioInput, index: number): void {
    const { sampleRate, minSamples } = this.speaker;
    const samples = resampledLength(clip.channels[0]?.length ?? 0, clip.sampleRate, sampleRate);
    if (samples < minSamples) {
      throw new HearthError('AUDIO_TOO_SHORT', `clip ${index} lasts ${(samples / sampleRate).toFixed(3)} s; ${this.settings.ref} needs at least ${(minSamples / sampleRate).toFixed(3)} s`, {
        details: { index, seconds: samples / sampleRate, minSeconds: minSamples / sampleRate },
      });
    }
  }

  #notText(): HearthError {
    return new HearthError('MODEL_UNSUPPORTED', `${this.settings.ref} is a speaker model: it embeds audio (POST /v1/audio/embeddings), not text`);
  }
}

/** The frames a clip gives at 16 kHz: clips batch together only when these are equal. */
function framesOf(clip: AudioInput): number {
  return 1 + Math.floor(resampledLength(clip.channels[0]!.length, clip.sampleRate, FBANK_SAMPLE_RATE) / HOP_LENGTH);
}

function scheduling(settings: SpeakerModelSettings, threads: number): SchedulerOptions<SpeakerThread, AudioInput, Float32Array> {
  const { maxRows, cpu, onBatch } = settings;
  return {
    maxRows,
    sizeOf: framesOf,
    plan: groupEqual,
    run: async (thread, clips) => {
      const release = await cpu.acquire(threads);
      const { vectors, dims } = await thread.run({ clips }).finally(release);
      const frames = framesOf(clips[0]!) * clips.length;
      onBatch?.({ rows: clips.length, tokens: frames, paddedTokens: frames });
      return clips.map((_, row) => vectors.slice(row * dims, (row + 1) * dims));
    },
  };
}

/** Batches of equal sizes (frames), oldest first, each at most `maxRows`. */
export function groupEqual(sizes: readonly number[], maxRows: number): number[][] {
  const open = new Map<number, number[]>();
  const order: number[][] = [];
  sizes.forEach((size, index) => {
    const batch = open.get(size);
    if (batch && batch.length < maxRows) batch.push(index);
    else {
      const fresh = [index];
      open.set(size, fresh);
      order.push(fresh);
    }
  });
  return order;
}
