import { HearthError } from '../../errors/index.js';
import { BatchScheduler } from '../batch-scheduler.js';
import type { AudioEmbedOptions, AudioInput, BatchObserver, CpuGate, EmbedResult, GenerateEvent, LoadedModel, ModelInfo, Parallelism, RuntimeIdentity, SpeakerFacts } from '../types.js';
import { checkedVector } from '../vector.js';
import { FBANK_SAMPLE_RATE, HOP_LENGTH } from './fbank.js';
import { resampledLength } from './resample.js';
import type { SpeakerBatch, SpeakerBatchResult, SpeakerReady, SpeakerSetup } from './speaker-protocol.js';
import type { SpeakerSource } from './speaker-source.js';
import { startAll, WorkerThread } from '../worker-thread.js';

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
 * A SpeechBrain speaker model (ECAPA-TDNN) on ONNX Runtime: `parallel`
 * threads of `threads` intra-op threads each, fed by one batch scheduler
 * that batches clips of equal length only. SpeechBrain pads a batch to its
 * longest clip, and the padding moves every shorter clip's embedding (its
 * convolutions see the padded frames); hearth's embedding of a clip is the
 * same whatever else was in its batch.
 */
export class SpeakerLoadedModel implements LoadedModel {
  #settings: SpeakerModelSettings;
  readonly #facts: SpeakerFacts;
  #threads: SpeakerThread[];
  #scheduler: BatchScheduler<SpeakerThread, AudioInput, Float32Array>;
  #disposed: Promise<void> | undefined;

  private constructor(
    private readonly source: SpeakerSource,
    settings: SpeakerModelSettings,
    threads: SpeakerThread[],
  ) {
    this.#settings = settings;
    this.#threads = threads;
    this.#facts = { sampleRate: FBANK_SAMPLE_RATE, minSamples: source.minSamples, dims: threads[0]!.info.dims };
    this.#scheduler = this.#schedulerFor(threads);
  }

  static async create(source: SpeakerSource, settings: SpeakerModelSettings, signal?: AbortSignal): Promise<SpeakerLoadedModel> {
    const threads = await startThreads(source, settings, signal);
    const dims = threads[0]!.info.dims;
    if (source.embeddingMean !== undefined && source.embeddingMean.length !== dims) {
      await Promise.all(threads.map((t) => t.dispose()));
      throw new HearthError('MODEL_UNSUPPORTED', `${settings.ref}: the embedding mean has ${source.embeddingMean.length} values and the embeddings ${dims}`);
    }
    return new SpeakerLoadedModel(source, settings, threads);
  }

  get info(): ModelInfo {
    return this.source.info;
  }

  get identity(): RuntimeIdentity {
    return {
      engine: 'onnxruntime',
      engineVersion: `onnxruntime@${this.#settings.engineVersion}`,
      binding: `onnxruntime-node@${this.#settings.engineVersion}`,
      device: 'cpu',
      cpuVariant: this.#settings.cpuVariant,
      digest: this.source.digest,
      threads: this.#settings.threads,
      parallel: this.#settings.parallel,
      contextSize: 0,
      pooling: undefined,
      normalize: false,
    };
  }

  get speaker(): SpeakerFacts {
    return this.#facts;
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
    this.#assertLive();
    for (const [index, clip] of clips.entries()) this.#checkLength(clip, index);
    const vectors = await this.#scheduler.submit(clips, options.signal);
    const mean = options.normalize ? this.source.embeddingMean : undefined;
    if (options.normalize && !mean) {
      throw new HearthError('MODEL_UNSUPPORTED', `${this.#settings.ref} has no embedding mean (mean_var_norm_emb), so it cannot normalize embeddings`);
    }
    return vectors.map((v) => checkedVector(mean ? v.map((x, i) => x - mean[i]!) : v, false));
  }

  /** New threads with the new settings; batches already running finish on the old ones. */
  async configure(parallelism: Parallelism): Promise<void> {
    this.#assertLive();
    if (parallelism.threads === this.#settings.threads && parallelism.parallel === this.#settings.parallel) return;
    const settings = { ...this.#settings, ...parallelism };
    const threads = await startThreads(this.source, settings);
    const old = this.#threads;
    this.#scheduler.close();
    this.#settings = settings;
    this.#threads = threads;
    this.#scheduler = this.#schedulerFor(threads);
    await Promise.all(old.map((t) => t.dispose()));
  }

  dispose(): Promise<void> {
    this.#disposed ??= (async () => {
      this.#scheduler.close();
      await Promise.all(this.#threads.map((t) => t.dispose()));
    })();
    return this.#disposed;
  }

  #checkLength(clip: AudioInput, index: number): void {
    const { sampleRate, minSamples } = this.#facts;
    const samples = resampledLength(clip.channels[0]?.length ?? 0, clip.sampleRate, sampleRate);
    if (samples < minSamples) {
      throw new HearthError('AUDIO_TOO_SHORT', `clip ${index} lasts ${(samples / sampleRate).toFixed(3)} s; ${this.#settings.ref} needs at least ${(minSamples / sampleRate).toFixed(3)} s`, {
        details: { index, seconds: samples / sampleRate, minSeconds: minSamples / sampleRate },
      });
    }
  }

  #schedulerFor(threads: SpeakerThread[]): BatchScheduler<SpeakerThread, AudioInput, Float32Array> {
    const { maxRows, cpu, onBatch } = this.#settings;
    const facts = this.#facts;
    return new BatchScheduler<SpeakerThread, AudioInput, Float32Array>(threads, {
      maxRows,
      sizeOf: (clip) => 1 + Math.floor(resampledLength(clip.channels[0]!.length, clip.sampleRate, facts.sampleRate) / HOP_LENGTH),
      plan: groupEqual,
      run: async (thread, clips) => {
        const release = await cpu.acquire(this.#settings.threads);
        const { vectors, dims } = await thread.run({ clips }).finally(release);
        const frames = 1 + Math.floor(resampledLength(clips[0]!.channels[0]!.length, clips[0]!.sampleRate, facts.sampleRate) / HOP_LENGTH);
        onBatch?.({ rows: clips.length, tokens: frames * clips.length, paddedTokens: frames * clips.length });
        return clips.map((_, row) => vectors.slice(row * dims, (row + 1) * dims));
      },
    });
  }

  #notText(): HearthError {
    return new HearthError('MODEL_UNSUPPORTED', `${this.#settings.ref} is a speaker model: it embeds audio (POST /v1/audio/embeddings), not text`);
  }

  #assertLive(): void {
    if (this.#disposed) throw new HearthError('ABORTED', `${this.#settings.ref} was unloaded`);
  }
}

/** Batches of equal sizes (frames), oldest first, each at most `maxRows`. */
export function groupEqual(sizes: readonly number[], maxRows: number): number[][] {
  const groups = new Map<number, number[][]>();
  const order: number[][] = [];
  sizes.forEach((size, index) => {
    const open = groups.get(size)?.at(-1);
    if (open && open.length < maxRows) open.push(index);
    else {
      const batch = [index];
      groups.set(size, [...(groups.get(size) ?? []), batch]);
      order.push(batch);
    }
  });
  return order;
}

function startThreads(source: SpeakerSource, settings: SpeakerModelSettings, signal?: AbortSignal): Promise<SpeakerThread[]> {
  const setup: SpeakerSetup = { graph: source.graph, names: source.names, threads: settings.threads, sentenceNorm: source.sentenceNorm };
  const entry = new URL('./speaker-thread', import.meta.url);
  return startAll(settings.parallel, () => WorkerThread.start<SpeakerReady, SpeakerBatch, SpeakerBatchResult>(entry, setup, `${settings.ref}: ONNX Runtime`, signal));
}
