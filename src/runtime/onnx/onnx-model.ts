import { HearthError } from '../../errors/index.js';
import type { BatchObserver, CpuGate, EmbedInput, EmbedOptions, EmbedResult, GenerateEvent, LoadedModel, ModelInfo, Parallelism, RuntimeIdentity } from '../types.js';
import { checkedVector } from '../vector.js';
import { BatchScheduler } from './batch-scheduler.js';
import type { BatchLimits } from './batch-plan.js';
import type { EncoderConfig } from './encoder-config.js';
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
  #scheduler: BatchScheduler;
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

  #schedulerFor(workers: SessionWorker[]): BatchScheduler {
    return new BatchScheduler(workers, { ...this.#settings.limits, pooling: this.config.pooling, padId: this.tokenizer.padId, onBatch: this.#settings.onBatch, cpu: this.#settings.cpu, threads: this.#settings.threads });
  }

  #assertLive(): void {
    if (this.#disposed) throw new HearthError('ABORTED', `${this.#settings.ref} was unloaded`);
  }
}

async function startWorkers(settings: OnnxModelSettings, signal?: AbortSignal): Promise<SessionWorker[]> {
  const started = await Promise.allSettled(
    Array.from({ length: settings.parallel }, () => SessionWorker.start({ modelPath: settings.modelPath, threads: settings.threads }, settings.ref, signal)),
  );
  const workers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(workers.map((w) => w.dispose()));
    throw failed.reason;
  }
  return workers;
}
