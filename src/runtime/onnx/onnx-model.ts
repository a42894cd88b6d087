import { HearthError } from '../../errors/index.js';
import type { SchedulerOptions } from '../batch-scheduler.js';
import { SessionSet } from '../session-set.js';
import type { BatchObserver, CpuGate, EmbedInput, EmbedOptions, EmbedResult, GenerateEvent, LoadedModel, ModelInfo, Parallelism, RuntimeIdentity } from '../types.js';
import { checkedVector } from '../vector.js';
import { startAll } from '../worker-thread.js';
import { planBatches, type BatchLimits } from './batch-plan.js';
import { onnxEngineIdentity } from './onnx-build.js';
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
  private constructor(
    readonly info: ModelInfo,
    private readonly config: EncoderConfig,
    private readonly tokenizer: TextTokenizer,
    private readonly settings: OnnxModelSettings,
    private readonly sessions: SessionSet<SessionWorker, number[], Float32Array>,
  ) {}

  static async create(info: ModelInfo, config: EncoderConfig, tokenizer: TextTokenizer, settings: OnnxModelSettings, signal?: AbortSignal): Promise<OnnxLoadedModel> {
    const sessions = await SessionSet.start(
      {
        start: (p, startSignal) => startAll(p.parallel, () => SessionWorker.start({ modelPath: settings.modelPath, threads: p.threads }, settings.ref, startSignal)),
        scheduling: (p) => scheduling(settings, config, tokenizer.padId, p.threads),
      },
      settings,
      signal,
    );
    return new OnnxLoadedModel(info, config, tokenizer, settings, sessions);
  }

  get identity(): RuntimeIdentity {
    return {
      ...onnxEngineIdentity(this.settings.engineVersion, this.settings.cpuVariant),
      digest: this.settings.digest,
      ...this.sessions.parallelism,
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
    const pooled = await this.sessions.submit(sequences, options.signal);
    return { vectors: pooled.map((v) => checkedVector(v, this.config.normalize)), tokens: sequences.map((s) => s.length) };
  }

  async *generate(): AsyncIterable<GenerateEvent> {
    throw new HearthError('MODEL_UNSUPPORTED', `${this.settings.ref} is an ONNX ${this.info.architecture} encoder; it embeds and cannot generate text`);
  }

  /** New session threads with the new settings; batches already running finish on the old ones. */
  configure(parallelism: Parallelism): Promise<void> {
    return this.sessions.configure(parallelism);
  }

  dispose(): Promise<void> {
    return this.sessions.dispose();
  }

  #assertLive(): void {
    if (this.sessions.disposed) throw new HearthError('ABORTED', `${this.settings.ref} was unloaded`);
  }
}

/** Padded token batches within the token budget, each through the CPU gate with the session's threads. */
function scheduling(settings: OnnxModelSettings, config: EncoderConfig, padId: number, threads: number): SchedulerOptions<SessionWorker, number[], Float32Array> {
  const { limits, onBatch, cpu } = settings;
  return {
    maxRows: limits.maxRows,
    sizeOf: (ids) => ids.length,
    plan: (lengths, maxRows) => planBatches(lengths, { maxTokens: limits.maxTokens, maxRows }),
    run: async (worker, sequences) => {
      const seqLen = Math.max(...sequences.map((ids) => ids.length));
      const ids = new Int32Array(sequences.length * seqLen).fill(padId);
      sequences.forEach((seq, row) => ids.set(seq, row * seqLen));
      const lengths = sequences.map((seq) => seq.length);
      const release = await cpu.acquire(threads);
      const { vectors, hidden } = await worker.run({ ids, rows: sequences.length, seqLen, lengths, pooling: config.pooling }).finally(release);
      onBatch?.({ rows: sequences.length, tokens: lengths.reduce((a, b) => a + b, 0), paddedTokens: sequences.length * seqLen });
      return sequences.map((_, row) => vectors.slice(row * hidden, (row + 1) * hidden));
    },
  };
}
