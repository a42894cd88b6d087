import { HearthError } from '../../errors/index.js';
import type { BatchObserver, CpuGate, EmbedInput, EmbedOptions, EmbedResult, GenerateEvent, LoadedModel, ModelInfo, Parallelism, RuntimeIdentity } from '../types.js';
import { checkedVector } from '../vector.js';
import { BatchScheduler } from '../batch-scheduler.js';
import { planBatches, type BatchLimits } from './batch-plan.js';
import type { EncoderConfig } from './encoder-config.js';
import { startAll } from '../worker-thread.js';
import { SessionWorker } from './session-worker.js';
import type { TextTokenizer } from './text-tokenizer.js';

export interface OnnxModelSettings extends Parallelism {
  ref: string;
  modelPath: string;
  digest: string | undefined;
  limits: BatchLimits;
  onBatch: BatchObserver | undefined;
  cpu: CpuGate;
  engineVersion: string;
  cpuVariant: string;
}

/**
 * A BERT-class encoder in ONNX Runtime: `parallel` session threads of
 * `threads` intra-op threads each, fed by one batch scheduler. Tokenization
 * runs on the main thread (tens of microseconds a text); inference and
 * pooling on the session threads; normalization and checks back here.
 */
export class OnnxLoadedModel implements LoadedModel {
  #settings: OnnxModelSettings;
  #workers: SessionWorker[];
  #scheduler: BatchScheduler<SessionWorker, number[], Float32Array>;
  #disposed: Promise<void> | undefined;

  private constructor(
    readonly info: ModelInfo,
    private readonly config: EncoderConfig,
    private readonly tokenizer: TextTokenizer,
    settings: OnnxModelSettings,
    workers: SessionWorker[],
  ) {
    this.#settings = settings;
    this.#workers = workers;
    this.#scheduler = this.#schedulerFor(workers);
  }

  static async create(info: ModelInfo, config: EncoderConfig, tokenizer: TextTokenizer, settings: OnnxModelSettings, signal?: AbortSignal): Promise<OnnxLoadedModel> {
    const workers = await startWorkers(settings, signal);
    return new OnnxLoadedModel(info, config, tokenizer, settings, workers);
  }

  get identity(): RuntimeIdentity {
    return {
      engine: 'onnxruntime',
      engineVersion: `onnxruntime@${this.#settings.engineVersion}`,
      binding: `onnxruntime-node@${this.#settings.engineVersion}`,
      device: 'cpu',
      cpuVariant: this.#settings.cpuVariant,
      digest: this.#settings.digest,
      threads: this.#settings.threads,
      parallel: this.#settings.parallel,
      contextSize: this.config.maxTokens,
      pooling: this.config.pooling,
      normalize: this.config.normalize,
    };
  }

  get maxInputTokens(): number {
    return this.config.maxTokens;
  }

  get specialTokens(): number {
    return this.tokenizer.prefix.length + this.tokenizer.suffix.length;
  }

  countTokens(text: string): number {
    this.#assertLive();
    return this.tokenizer.count(text);
  }

  async embed(inputs: readonly EmbedInput[], options: EmbedOptions = {}): Promise<EmbedResult> {
    this.#assertLive();
    const truncate = options.truncate ?? false;
    const sequences = inputs.map((input, i) => this.tokenizer.encode(input, i, { maxTokens: this.config.maxTokens, truncate }));
    const pooled = await this.#scheduler.submit(sequences, options.signal);
    return { vectors: pooled.map((v) => checkedVector(v, this.config.normalize)), tokens: sequences.map((s) => s.length) };
  }

  async *generate(): AsyncIterable<GenerateEvent> {
    throw new HearthError('MODEL_UNSUPPORTED', `${this.#settings.ref} is an ONNX ${this.info.architecture} encoder; it embeds and cannot generate text`);
  }

  /** New session threads with the new settings; batches already running finish on the old ones. */
  async configure(parallelism: Parallelism): Promise<void> {
    this.#assertLive();
    if (parallelism.threads === this.#settings.threads && parallelism.parallel === this.#settings.parallel) return;
    const settings = { ...this.#settings, ...parallelism };
    const workers = await startWorkers(settings);
    const old = this.#workers;
    this.#scheduler.close();
    this.#settings = settings;
    this.#workers = workers;
    this.#scheduler = this.#schedulerFor(workers);
    await Promise.all(old.map((w) => w.dispose()));
  }

  dispose(): Promise<void> {
    this.#disposed ??= (async () => {
      this.#scheduler.close();
      await Promise.all(this.#workers.map((w) => w.dispose()));
    })();
    return this.#disposed;
  }

  #schedulerFor(workers: SessionWorker[]): BatchScheduler<SessionWorker, number[], Float32Array> {
    const { limits, onBatch, cpu, threads } = this.#settings;
    const { pooling } = this.config;
    const padId = this.tokenizer.padId;
    return new BatchScheduler<SessionWorker, number[], Float32Array>(workers, {
      maxRows: limits.maxRows,
      sizeOf: (ids) => ids.length,
      plan: (lengths, maxRows) => planBatches(lengths, { maxTokens: limits.maxTokens, maxRows }),
      run: async (worker, sequences) => {
        const seqLen = Math.max(...sequences.map((ids) => ids.length));
        const ids = new Int32Array(sequences.length * seqLen).fill(padId);
        sequences.forEach((seq, row) => ids.set(seq, row * seqLen));
        const lengths = sequences.map((seq) => seq.length);
        const release = await cpu.acquire(threads);
        const { vectors, hidden } = await worker.run({ ids, rows: sequences.length, seqLen, lengths, pooling }).finally(release);
        onBatch?.({ rows: sequences.length, tokens: lengths.reduce((a, b) => a + b, 0), paddedTokens: sequences.length * seqLen });
        return sequences.map((_, row) => vectors.slice(row * hidden, (row + 1) * hidden));
      },
    });
  }

  #assertLive(): void {
    if (this.#disposed) throw new HearthError('ABORTED', `${this.#settings.ref} was unloaded`);
  }
}

function startWorkers(settings: OnnxModelSettings, signal?: AbortSignal): Promise<SessionWorker[]> {
  return startAll(settings.parallel, () => SessionWorker.start({ modelPath: settings.modelPath, threads: settings.threads }, settings.ref, signal));
}
