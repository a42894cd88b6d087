import type { LlamaEmbeddingContext, LlamaModel, Token } from 'node-llama-cpp';
import { throwIfAborted } from '../../errors/index.js';
import { Semaphore } from '../../lifecycle/semaphore.js';
import { assertNotEmpty, checkTokenIds, inputTooLong } from '../input-limits.js';
import type { BatchObserver, CpuGate, EmbedInput, EmbedOptions, EmbedResult } from '../types.js';
import { checkedVector } from '../vector.js';
import { embeddingInputLimit } from './embedding-input.js';

/** An input's tokens, and how many llama.cpp evaluates for it: the special tokens it adds around them included. */
interface PreparedInput {
  tokens: Token[];
  evaluated: number;
}

/**
 * A set of embedding contexts, one text per context at a time. Each context
 * has batch = ubatch = context size, so a long input is evaluated in one
 * piece: llama.cpp cannot pool an input split across ubatches correctly.
 */
export class LlamaEmbedder {
  readonly #contexts: LlamaEmbeddingContext[];
  readonly #idle: LlamaEmbeddingContext[];
  readonly #slots: Semaphore;

  private constructor(
    private readonly model: LlamaModel,
    contexts: LlamaEmbeddingContext[],
    readonly contextSize: number,
    private readonly normalize: boolean,
    private readonly onBatch: BatchObserver | undefined,
    private readonly cpu: CpuGate,
    private readonly threads: number,
  ) {
    this.#contexts = contexts;
    this.#idle = [...contexts];
    this.#slots = new Semaphore(contexts.length);
  }

  static async create(
    model: LlamaModel,
    options: { contextSize: number; parallel: number; threads: number; normalize: boolean; onBatch?: BatchObserver | undefined; cpu: CpuGate },
  ): Promise<LlamaEmbedder> {
    const contexts: LlamaEmbeddingContext[] = [];
    try {
      for (let i = 0; i < options.parallel; i++) {
        contexts.push(await model.createEmbeddingContext({ contextSize: options.contextSize, batchSize: options.contextSize, threads: options.threads }));
      }
    } catch (error) {
      await Promise.all(contexts.map((c) => c.dispose()));
      throw error;
    }
    return new LlamaEmbedder(model, contexts, options.contextSize, options.normalize, options.onBatch, options.cpu, options.threads);
  }

  async embed(texts: readonly EmbedInput[], options: EmbedOptions = {}): Promise<EmbedResult> {
    const inputs = texts.map((text, i) => this.#prepare(text, i, options.truncate ?? false));
    const vectors = new Array<Float32Array>(inputs.length);
    // At most one waiter per context, each taking the next input: one waiter per input would put
    // thousands of abort listeners on a request's signal and queue them all ahead of other callers.
    let next = 0;
    let failed = false;
    const worker = async () => {
      while (!failed && next < inputs.length) {
        const index = next++;
        try {
          vectors[index] = await this.#embedOne(inputs[index]!, options.signal);
        } catch (error) {
          failed = true;
          throw error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#contexts.length, inputs.length) }, worker));
    return { vectors, tokens: inputs.map((input) => input.evaluated) };
  }

  /** Tokenizes and enforces the context limit: an error, or an explicit truncation. */
  #prepare(input: EmbedInput, index: number, truncate: boolean): PreparedInput {
    assertNotEmpty(input, index);
    const tokens = typeof input === 'string' ? this.model.tokenize(input) : (checkTokenIds(input, index, this.model.fileInfo.metadata.tokenizer.ggml.tokens.length) as Token[]);
    const limit = embeddingInputLimit(this.contextSize);
    const probe = this.#contexts[0]!;
    const length = probe.calculateInputLength([...tokens]);
    if (length <= limit) return { tokens, evaluated: length };
    if (!truncate) throw inputTooLong(index, length, limit);
    return { tokens: tokens.slice(0, tokens.length - (length - limit)), evaluated: limit };
  }

  async #embedOne({ tokens, evaluated }: PreparedInput, signal: AbortSignal | undefined): Promise<Float32Array> {
    const release = await this.#slots.acquire(1, signal);
    const context = this.#idle.pop()!;
    try {
      throwIfAborted(signal);
      // One input is one decode (batch = context), so it is one unit of CPU work.
      const cpu = await this.cpu.acquire(this.threads);
      const embedding = await context.getEmbeddingFor([...tokens]).finally(cpu);
      // node-llama-cpp evaluates one sequence per call: every batch is a single row.
      this.onBatch?.({ rows: 1, tokens: evaluated, paddedTokens: evaluated });
      return checkedVector(embedding.vector, this.normalize);
    } finally {
      this.#idle.push(context);
      release();
    }
  }

  async dispose(): Promise<void> {
    await Promise.all(this.#contexts.map((c) => c.dispose()));
  }
}
