import { HearthError, isHearthError } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import type { Lease, ModelPool } from '../pool/model-pool.js';
import type { Store } from '../store/index.js';

export interface ModelAccessOptions {
  store: Store;
  pool: ModelPool;
  logger: Logger;
  maxQueue: number;
  autoPull: boolean;
  aliases: Readonly<Record<string, string>>;
  onQueueDepth?: (model: string, depth: number) => void;
}

/**
 * How requests reach models: a bounded queue per model (a full one answers
 * 503 with Retry-After rather than letting latency grow without bound),
 * names that are not store references reported as unknown models, and an
 * optional pull on demand when online.
 */
export class ModelAccess {
  readonly #depth = new Map<string, number>();

  constructor(private readonly options: ModelAccessOptions) {}

  depth(model: string): number {
    return this.#depth.get(model) ?? 0;
  }

  /**
   * Checks a model name from a request before anything uses it: local paths
   * and plain URLs are accepted only through configured aliases, so no request
   * field becomes a filesystem path and the server fetches no URL a client names.
   */
  check(model: string): string {
    const ref = this.options.store.parse(model);
    if ((ref.kind === 'local' || ref.kind === 'url') && !Object.hasOwn(this.options.aliases, model)) {
      throw new HearthError('MODEL_NOT_FOUND', `model "${model}" not found: ${ref.kind === 'local' ? 'file paths' : 'URLs'} are not accepted over HTTP`, {
        hint: 'name the model with an hf: reference, or add an alias for it in the config file',
      });
    }
    return model;
  }

  /**
   * Runs `work` for a model a request named: the name is checked first, and
   * "not a reference" or "not in the store" reach the client as a 404, as from Ollama.
   */
  async named<T>(model: string, work: () => Promise<T>): Promise<T> {
    try {
      this.check(model);
      return await work();
    } catch (error) {
      throw asModelError(model, error);
    }
  }

  /** Leases `model` for one request; the returned release must be called exactly once (it is idempotent). */
  lease(model: string, request: { keepAlive?: string | number | null | undefined; signal?: AbortSignal | undefined }): Promise<Lease> {
    return this.named(model, async () => {
      const depth = this.depth(model);
      if (depth >= this.options.maxQueue) {
        throw new HearthError('QUEUE_FULL', `${depth} requests are already queued for ${model}`, { details: { model, depth } });
      }
      this.#setDepth(model, depth + 1);
      let done = false;
      const leave = () => {
        if (done) return;
        done = true;
        this.#setDepth(model, this.depth(model) - 1);
      };
      try {
        const lease = await this.#acquire(model, request);
        return { ...lease, release: () => (lease.release(), leave()) };
      } catch (error) {
        leave();
        throw error;
      }
    });
  }

  async #acquire(model: string, request: { keepAlive?: string | number | null | undefined; signal?: AbortSignal | undefined }): Promise<Lease> {
    try {
      return await this.options.pool.acquire(model, request);
    } catch (error) {
      if (!isHearthError(error, 'NOT_CACHED') || !this.options.autoPull || this.options.store.offline) throw error;
      this.options.logger.info({ model }, 'pulling on demand');
      await this.options.store.pull(model, { signal: request.signal });
      return this.options.pool.acquire(model, request);
    }
  }

  #setDepth(model: string, depth: number): void {
    if (depth <= 0) this.#depth.delete(model);
    else this.#depth.set(model, depth);
    this.options.onQueueDepth?.(model, Math.max(0, depth));
  }
}

function asModelError(model: string, error: unknown): unknown {
  if (isHearthError(error, 'REF_INVALID')) {
    return new HearthError('MODEL_NOT_FOUND', `model "${model}" not found`, { cause: error, hint: 'use a store reference such as hf:<owner>/<repo>/<file>, or an alias from the config' });
  }
  if (isHearthError(error, 'NOT_CACHED')) {
    return new HearthError('MODEL_NOT_FOUND', `model "${model}" not found; pull it first`, { cause: error, hint: `hearth pull ${model}, or POST /api/pull` });
  }
  return error;
}
