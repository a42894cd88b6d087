import type { LlamaModel } from 'node-llama-cpp';
import { HearthError } from '../../errors/index.js';
import type { BatchObserver, CpuGate, EmbedInput, EmbedOptions, EmbedResult, GenerateEvent, GenerateRequest, LoadedModel, ModelInfo, Parallelism, RuntimeIdentity } from '../types.js';
import { LlamaEmbedder } from './llama-embedder.js';
import { embeddingInputLimit, embeddingSpecialTokens } from './embedding-input.js';
import { withoutChatTemplate } from '../plain-prompt.js';
import { gateDecodes } from './decode-gate.js';
import { LlamaGenerator } from './llama-generator.js';
import type { LlamaRuntime } from './llama-runtime.js';

export interface LlamaModelSettings extends Parallelism {
  contextSize: number | undefined;
  normalize: boolean;
  digest: string | undefined;
  onBatch: BatchObserver | undefined;
  cpu: CpuGate;
}

/**
 * A GGUF model in memory. Contexts are made on first use of each capability
 * (an embedding model never pays for a generation context), and rebuilt by
 * configure() when the tuner tries another thread/parallelism setting.
 */
export class LlamaLoadedModel implements LoadedModel {
  #settings: LlamaModelSettings;
  #embedder: Promise<LlamaEmbedder> | undefined;
  #generator: Promise<LlamaGenerator> | undefined;
  #disposed: Promise<void> | undefined;

  constructor(
    private readonly runtime: LlamaRuntime,
    private readonly model: LlamaModel,
    readonly info: ModelInfo,
    settings: LlamaModelSettings,
  ) {
    this.#settings = settings;
  }

  get identity(): RuntimeIdentity {
    const embedding = !this.info.capabilities.includes('generation');
    return {
      engine: 'llama.cpp',
      engineVersion: this.runtime.engineVersion,
      binding: this.runtime.binding,
      device: this.runtime.device,
      cpuVariant: this.runtime.cpuVariant,
      digest: this.#settings.digest,
      threads: this.#settings.threads,
      parallel: this.#settings.parallel,
      contextSize: embedding ? this.#embeddingContextSize() : this.#generationContextSize(),
      pooling: this.info.pooling,
      normalize: this.#settings.normalize,
    };
  }

  get maxInputTokens(): number {
    return embeddingInputLimit(this.#embeddingContextSize());
  }

  get specialTokens(): number {
    return embeddingSpecialTokens(this.model);
  }

  /** The embedder's own tokenization (LlamaEmbedder.#prepare), so a count here is what embed() evaluates less the special tokens. */
  countTokens(text: string): number {
    this.#assertLive();
    return this.model.tokenize(text).length;
  }

  async embed(texts: readonly EmbedInput[], options?: EmbedOptions): Promise<EmbedResult> {
    this.#assertLive();
    this.#embedder ??= LlamaEmbedder.create(this.model, {
      contextSize: this.#embeddingContextSize(),
      parallel: this.#settings.parallel,
      threads: this.#settings.threads,
      normalize: this.#settings.normalize,
      onBatch: this.#settings.onBatch,
      cpu: this.#settings.cpu,
    }).catch((error: unknown) => {
      this.#embedder = undefined;
      throw loadError(error, 'embedding context');
    });
    return (await this.#embedder).embed(texts, options);
  }

  async *generate(request: GenerateRequest): AsyncIterable<GenerateEvent> {
    this.#assertLive();
    if (!this.info.capabilities.includes('generation')) {
      throw new HearthError('MODEL_UNSUPPORTED', `${this.info.architecture} is an embedding model; it cannot generate text`);
    }
    this.#generator ??= this.model
      .createContext({ contextSize: this.#generationContextSize(), sequences: this.#settings.parallel, threads: this.#settings.threads })
      .then((context) => new LlamaGenerator(gateDecodes(context, this.#settings.cpu, this.#settings.threads)))
      .catch((error: unknown) => {
        this.#generator = undefined;
        throw loadError(error, 'generation context');
      });
    yield* (await this.#generator).generate(this.info.chatTemplate !== undefined || (request.kind === 'chat' && request.template !== undefined) ? request : withoutChatTemplate(request));
  }

  async configure(parallelism: Parallelism): Promise<void> {
    this.#assertLive();
    const [embedder, generator] = [this.#embedder, this.#generator];
    this.#embedder = this.#generator = undefined;
    await Promise.all([embedder?.then((e) => e.dispose()), generator?.then((g) => g.dispose())].map((p) => p?.catch(() => undefined)));
    this.#settings = { ...this.#settings, ...parallelism };
  }

  dispose(): Promise<void> {
    this.#disposed ??= (async () => {
      const [embedder, generator] = [this.#embedder, this.#generator];
      this.#embedder = this.#generator = undefined;
      await Promise.all([embedder?.then((e) => e.dispose()), generator?.then((g) => g.dispose())].map((p) => p?.catch(() => undefined)));
      await this.model.dispose();
    })();
    return this.#disposed;
  }

  #embeddingContextSize(): number {
    return Math.min(this.#settings.contextSize ?? this.info.trainContextSize, this.info.trainContextSize, 8192);
  }

  #generationContextSize(): number {
    return Math.min(this.#settings.contextSize ?? 4096, this.info.trainContextSize);
  }

  #assertLive(): void {
    if (this.#disposed) throw new HearthError('MODEL_LOAD_FAILED', 'model was unloaded');
  }
}

function loadError(error: unknown, what: string): HearthError {
  if (error instanceof HearthError) return error;
  return new HearthError('MODEL_LOAD_FAILED', `cannot create ${what}: ${(error as Error).message}`, { cause: error });
}
