import { HearthError, isHearthError } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import type { Lease, ModelPool } from '../pool/model-pool.js';
import type { Store } from '../store/index.js';
import { ModelNames } from './model-names.js';

export interface ModelAccessOptions {
  store: Store;
  pool: ModelPool;
  logger: Logger;
  maxQueue: number;
  autoPull: boolean;
  onQueueDepth?: (model: string, depth: number) => void;
}

export interface LeaseRequest {
  keepAlive?: string | number | null | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * How requests reach models: a name is resolved to a stored model without
 * touching the filesystem for the client, a bounded queue per model answers
 * 503 with Retry-After rather than letting latency grow without bound, and
 * a model can be pulled on demand when online.
 */
export class ModelAccess {
  readonly names: ModelNames;
  readonly #depth = new Map<string, number>();

  constructor(private readonly options: ModelAccessOptions) {
    this.names = new ModelNames(options.store);
  }

  depth(model: string): number {
    return this.#depth.get(model) ?? 0;
  }

  /**
   * What a model name from a request stands for, as a reference the store
   * resolves: an alias, a hub reference, or a name hearth lists. Local paths
   * and plain URLs are accepted only through aliases, so no request field
   * becomes a filesystem path and the server fetches no URL a client names.
   */
  resolve(model: string): Promise<string> {
    return this.names.resolve(model);
  }

  /**
   * Runs `work` on the reference a request's model name stands for; "not a
   * reference" or "not in the store" reach the client as a 404, as from Ollama.
   */
  async named<T>(model: string, work: (ref: string) => Promise<T>): Promise<T> {
    try {
      return await work(await this.resolve(model));
    } catch (error) {
      throw asModelError(model, error);
    }
  }

  /**
   * A preloaded model is the operator's: a client may neither unload nor
   * delete it (MODEL_PINNED), so /ready never turns 503 behind the operator's back.
   */
  assertNotPinned(ref: string, action: 'unload' | 'delete'): void {
    if (!this.options.pool.isPinned(ref)) return;
    throw new HearthError('MODEL_PINNED', `${this.names.display(ref)} is preloaded by the server's operator (HEARTH_PRELOAD); a client cannot ${action} it`, {
      hint: 'remove it from HEARTH_PRELOAD to let clients unload or delete it',
    });
  }

  /** Leases `model` for one request; the returned release must be called exactly once (it is idempotent). */
  lease(model: string, request: LeaseRequest): Promise<Lease> {
    return this.named(model, (ref) => this.leaseRef(ref, request));
  }

  /**
   * Leases a store reference hearth itself recorded (a space's model), with
   * the same queue bound as a request's model name; no name resolution, so
   * a local path a space was made with is accepted here and only here.
   */
  async leaseRef(ref: string, request: LeaseRequest): Promise<Lease> {
    const key = this.names.display(ref);
    const depth = this.depth(key);
    if (depth >= this.options.maxQueue) {
      throw new HearthError('QUEUE_FULL', `${depth} requests are already queued for ${key}`, { details: { model: key, depth } });
    }
    this.#setDepth(key, depth + 1);
    let done = false;
    const leave = () => {
      if (done) return;
      done = true;
      this.#setDepth(key, this.depth(key) - 1);
    };
    try {
      const lease = await this.#acquire(ref, request);
      return { ...lease, release: () => (lease.release(), leave()) };
    } catch (error) {
      leave();
      throw error;
    }
  }

  async #acquire(ref: string, request: LeaseRequest): Promise<Lease> {
    try {
      return await this.options.pool.acquire(ref, request);
    } catch (error) {
      if (!isHearthError(error, 'NOT_CACHED') || !this.options.autoPull || this.options.store.offline) throw error;
      this.options.logger.info({ model: ref }, 'pulling on demand');
      await this.options.store.pull(ref, { signal: request.signal });
      this.names.invalidate();
      return this.options.pool.acquire(ref, request);
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
    return new HearthError('MODEL_NOT_FOUND', `model "${model}" not found`, {
      cause: error,
      hint: 'use a name from GET /v1/models or /api/tags, a hub reference such as hf:<owner>/<repo>, or an alias from the config',
    });
  }
  if (isHearthError(error, 'NOT_CACHED')) {
    return new HearthError('MODEL_NOT_FOUND', `model "${model}" not found; pull it first`, { cause: error, hint: `hearth pull ${model}, or POST /api/pull` });
  }
  return error;
}
