import { HearthError, throwIfAborted } from '../errors/index.js';
import type { EmbedInput, EmbedResult, LoadedModel } from '../runtime/types.js';

interface Job {
  inputs: readonly EmbedInput[];
  truncate: boolean;
  tokens: number;
  signal: AbortSignal | undefined;
  resolve: (result: EmbedResult) => void;
  reject: (error: unknown) => void;
}

interface Pending {
  jobs: Job[];
  tokens: number;
  timer: NodeJS.Timeout | undefined;
}

export interface BatcherOptions {
  /** Longest a request waits for company before its batch runs. */
  waitMs: number;
  /** Flush as soon as a batch holds this many (estimated) tokens. */
  maxBatchTokens: number;
  onBatch?: (size: number, tokens: number) => void;
}

/**
 * Coalesces concurrent embedding requests, across HTTP requests, into one
 * model call per batch; the model spreads a batch over its parallel
 * contexts. A batch that fails is retried request by request, so one
 * over-long input fails only its own request.
 */
export class EmbedBatcher {
  readonly #pending = new Map<LoadedModel, Pending>();

  constructor(private readonly options: BatcherOptions) {}

  embed(model: LoadedModel, inputs: readonly EmbedInput[], options: { truncate: boolean; signal?: AbortSignal | undefined }): Promise<EmbedResult> {
    throwIfAborted(options.signal);
    if (inputs.length === 0) return Promise.reject(new HearthError('USAGE', 'input is empty'));
    return new Promise((resolve, reject) => {
      const tokens = inputs.reduce((n, input) => n + estimateTokens(input), 0);
      let pending = this.#pending.get(model);
      if (!pending) {
        pending = { jobs: [], tokens: 0, timer: undefined };
        this.#pending.set(model, pending);
        pending.timer = setTimeout(() => this.#flush(model), this.options.waitMs);
      }
      pending.jobs.push({ inputs, truncate: options.truncate, tokens, signal: options.signal, resolve, reject });
      pending.tokens += tokens;
      if (pending.tokens >= this.options.maxBatchTokens) this.#flush(model);
    });
  }

  #flush(model: LoadedModel): void {
    const pending = this.#pending.get(model);
    if (!pending) return;
    this.#pending.delete(model);
    clearTimeout(pending.timer);
    const live = pending.jobs.filter((job) => {
      if (!job.signal?.aborted) return true;
      job.reject(new HearthError('ABORTED', 'request aborted', { cause: job.signal.reason }));
      return false;
    });
    for (const truncate of [false, true]) {
      const jobs = live.filter((j) => j.truncate === truncate);
      if (jobs.length > 0) void this.#run(model, jobs, truncate);
    }
  }

  async #run(model: LoadedModel, jobs: Job[], truncate: boolean): Promise<void> {
    const inputs = jobs.flatMap((j) => j.inputs);
    this.options.onBatch?.(inputs.length, jobs.reduce((n, j) => n + j.tokens, 0));
    try {
      const result = await model.embed(inputs, { truncate });
      let offset = 0;
      for (const job of jobs) {
        const end = offset + job.inputs.length;
        job.resolve({ vectors: result.vectors.slice(offset, end), tokens: result.tokens.slice(offset, end) });
        offset = end;
      }
    } catch (error) {
      if (jobs.length === 1) return jobs[0]!.reject(error);
      // Isolate the failure: run each request alone, so only the bad one fails.
      await Promise.all(jobs.map((job) => this.#run(model, [job], truncate)));
    }
  }
}

function estimateTokens(input: EmbedInput): number {
  return typeof input === 'string' ? Math.ceil(input.length / 4) + 2 : input.length;
}
