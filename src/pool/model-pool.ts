import { EventEmitter, once } from 'node:events';
import { abortError, HearthError, throwIfAborted, toHearthError } from '../errors/index.js';
import { Semaphore } from '../lifecycle/semaphore.js';
import { SingleFlight } from '../lifecycle/single-flight.js';
import type { Logger } from '../log/logger.js';
import type { Backend, BatchStats, CpuGate, LoadedModel, ModelInfo } from '../runtime/types.js';
import type { ResolvedModel, Store } from '../store/index.js';
import { systemClock, type Clock } from './clock.js';
import { armExpiry, cancelExpiry, resolveKeepAlive, type KeepAlivePolicy } from './keep-alive.js';
import { entryView, placeholderView, type ModelState, type ModelView, type PoolEntry } from './pool-entry.js';
import type { Tuner, TuneResult } from './tuner.js';
import { busyTooLong, place } from './placement.js';
import { initialParallelism, kindOf, warmUp, type ModelKind } from './warm-up.js';

export interface PoolConfig {
  maxLoaded: number;
  memoryBudget: number;
  keepAlive: KeepAlivePolicy;
  /** Fixed threads (HEARTH_THREADS); undefined lets the tuner measure. */
  threads: number | undefined;
  numParallel: number;
  contextSize: number | undefined;
  cpus: number;
  /** How long a load waits for a busy model to go idle before POOL_FULL (default 30 s). */
  loadWaitMs?: number;
}

export interface PoolOptions {
  store: Store;
  backends: Backend[];
  config: PoolConfig;
  logger: Logger;
  tuner?: Tuner | undefined;
  clock?: Clock;
}

export interface AcquireOptions {
  keepAlive?: string | number | null | undefined;
  signal?: AbortSignal | undefined;
  /** Never evict this model (preloads are pinned). */
  pin?: boolean;
}

/** A model in use. Release it when the request ends; until then it is never evicted. */
export interface Lease {
  readonly model: LoadedModel;
  readonly view: ModelView;
  /** The files the model was loaded from. */
  readonly resolved: ResolvedModel;
  release(): void;
}

/**
 * Keeps models warm. Loads are single-flight per file; loaded models are
 * bounded by count and by a memory budget checked against the estimate from
 * file metadata before loading; the least recently used idle, unpinned model
 * is evicted first; idle models unload when their keep-alive expires. The
 * cores are shared per unit of engine work (a decode step, an encoder
 * batch) through one first-come-first-served gate, so two models never run
 * more threads than the machine has and neither waits for the other's whole
 * request.
 */
export class ModelPool {
  /** 'state' fires on every transition: (name or ref, state, error?); 'waiting' when a load starts waiting for room. */
  readonly events = new EventEmitter<{ state: [name: string, state: ModelState, error: string | undefined]; batch: [batch: BatchStats]; waiting: [ref: string] }>();
  readonly #entries = new Map<string, PoolEntry>();
  /** Preloads that have not resolved to a file yet (missing, pulling, or failed before). */
  readonly #pending = new Map<string, { state: ModelState; error: string | undefined }>();
  readonly #loads = new SingleFlight<string, void>();
  readonly #capacity = new Semaphore(1);
  readonly #cpu: Semaphore;
  readonly #changes = new EventEmitter();
  readonly #clock: Clock;
  readonly #lifetime = new AbortController();
  /** Orders uses exactly; clock times tie within a millisecond. */
  #uses = 0;
  #disposed: Promise<void> | undefined;

  constructor(private readonly options: PoolOptions) {
    this.#clock = options.clock ?? systemClock;
    this.#cpu = new Semaphore(options.config.cpus);
    this.#changes.setMaxListeners(0);
  }

  /** Resolves a model from the store (never the network), loads it if needed, and leases it. */
  async acquire(name: string, options: AcquireOptions = {}): Promise<Lease> {
    this.#assertLive();
    throwIfAborted(options.signal);
    // A name already serving a ready model skips the store: resolving walks snapshot links (or,
    // for a local directory, stats and re-records every file) on the single libuv thread, per request.
    const entry = this.#readyEntry(name) ?? this.#entry(await this.options.store.resolve(name, { signal: options.signal }), name);
    // Validated for every request, but a preloaded model is the operator's: it stays for ever.
    const keepAliveMs = resolveKeepAlive(options.keepAlive, this.options.config.keepAlive);
    if (options.pin) entry.pinned = true;
    entry.keepAliveMs = entry.pinned ? -1 : keepAliveMs;
    entry.inFlight++;
    this.#cancelExpiry(entry);
    try {
      // Each waiter brings only its own signal: giving every waiter the pool's lifetime signal would put one
      // listener per concurrent first request on it. The load itself ends with the pool, once.
      if (entry.state !== 'ready') await this.#loads.run(entry.key, (s) => this.#load(entry, AbortSignal.any([s, this.#lifetime.signal])), options.signal);
    } catch (error) {
      this.#finish(entry);
      throw error;
    }
    this.#touch(entry);
    let released = false;
    return {
      model: entry.model!,
      view: entryView(entry, name),
      resolved: entry.resolved,
      release: () => {
        if (released) return;
        released = true;
        this.#finish(entry);
      },
    };
  }

  /** Reads a stored model's metadata without loading it (for /api/show). */
  async inspect(name: string, signal?: AbortSignal): Promise<{ resolved: ResolvedModel; info: ModelInfo }> {
    const resolved = await this.options.store.resolve(name, { signal });
    const loaded = this.#entries.get(resolved.primary.digest ?? resolved.primary.localPath)?.info;
    if (loaded) return { resolved, info: loaded };
    const backend = this.options.backends.find((b) => b.accepts(resolved));
    if (!backend) throw new HearthError('MODEL_UNSUPPORTED', `no backend can load ${resolved.ref}`);
    return { resolved, info: await backend.inspect(resolved, signal) };
  }

  /** Leases a model for the duration of `fn`. */
  async use<T>(name: string, options: AcquireOptions, fn: (model: LoadedModel) => Promise<T>): Promise<T> {
    const lease = await this.acquire(name, options);
    try {
      return await fn(lease.model);
    } finally {
      lease.release();
    }
  }

  /**
   * Pulls (when online and missing), loads, tunes and warms models in the
   * background. Never throws and never blocks the caller; progress shows in list().
   */
  preload(names: readonly string[]): Promise<void> {
    return Promise.all(names.map((name) => this.#preloadOne(name))).then(() => undefined);
  }

  /**
   * Lets the backends of these stored models start what they need before any
   * load (see Backend.prepare), without loading anything. `serve` calls it
   * before it imports the HTTP stack, so llama.cpp's binary check runs beside
   * that import. Never throws: a model that does not resolve is the preload's
   * to report.
   */
  async prepare(names: readonly string[]): Promise<void> {
    await Promise.all(
      names.map(async (name) => {
        try {
          const resolved = await this.options.store.resolve(name);
          await this.options.backends.find((b) => b.accepts(resolved))?.prepare?.(resolved);
        } catch {
          // Not stored yet, or not a model: preload() pulls it or reports why.
        }
      }),
    );
  }

  /** Every model the pool knows: preloads first, then loaded models by recency. */
  list(): ModelView[] {
    const views: ModelView[] = [];
    for (const [name, pending] of this.#pending) {
      const entry = [...this.#entries.values()].find((e) => e.names.has(name));
      views.push(entry ? entryView(entry, name) : placeholderView(name, pending.state, pending.error));
    }
    const listed = new Set(views.map((v) => v.ref));
    const rest = [...this.#entries.values()].filter((e) => !listed.has(e.resolved.ref) && e.state !== 'cached');
    for (const entry of rest.sort((a, b) => b.useOrder - a.useOrder)) views.push(entryView(entry, [...entry.names][0] ?? entry.resolved.ref));
    return views;
  }

  /** True when `name` is (or will be, once its preload resolves) a preloaded, pinned model. */
  isPinned(name: string): boolean {
    if (this.#pending.has(name)) return true;
    return [...this.#entries.values()].some((e) => e.pinned && (e.names.has(name) || e.resolved.ref === name));
  }

  /**
   * Forgets what `name` stood for, so the next request resolves it again:
   * a name redefined (create or copy over it) or removed must not keep
   * reaching the model it used to name. The model itself stays loaded.
   */
  forget(name: string): void {
    for (const entry of this.#entries.values()) entry.names.delete(name);
  }

  /** Unloads a model now (Ollama's keep_alive: 0), waiting for in-flight requests to end first. */
  async unload(name: string): Promise<boolean> {
    const entry = [...this.#entries.values()].find((e) => e.names.has(name) || e.resolved.ref === name);
    if (!entry || !entry.model) return false;
    while (entry.inFlight > 0) await once(this.#changes, 'change');
    await this.#unload(entry, 'requested');
    return true;
  }

  /** Unloads everything and refuses new work; idempotent. */
  dispose(): Promise<void> {
    this.#disposed ??= (async () => {
      this.#lifetime.abort(new HearthError('ABORTED', 'pool disposed'));
      await Promise.all([...this.#entries.values()].map((e) => this.#unload(e, 'shutdown')));
      await Promise.all(this.options.backends.map((b) => b.dispose()));
    })();
    return this.#disposed;
  }

  #touch(entry: PoolEntry): void {
    entry.lastUsed = this.#clock.now();
    entry.useOrder = ++this.#uses;
  }

  #readyEntry(name: string): PoolEntry | undefined {
    for (const entry of this.#entries.values()) if (entry.state === 'ready' && entry.model && entry.names.has(name)) return entry;
    return undefined;
  }

  #entry(resolved: ResolvedModel, name: string): PoolEntry {
    const key = resolved.primary.digest ?? resolved.primary.localPath;
    let entry = this.#entries.get(key);
    if (!entry) {
      entry = {
        key,
        names: new Set(),
        resolved,
        state: 'cached',
        error: undefined,
        info: undefined,
        model: undefined,
        reserved: 0,
        inFlight: 0,
        pinned: false,
        keepAliveMs: this.options.config.keepAlive.defaultMs,
        expiresAt: undefined,
        timer: undefined,
        lastUsed: this.#clock.now(),
        useOrder: ++this.#uses,
        tuning: undefined,
        loadMs: undefined,
        warmMs: undefined,
        warmGate: undefined,
        intact: false,
      };
      this.#entries.set(key, entry);
    }
    entry.names.add(name);
    // Same content, maybe a new place (re-pulled under another commit): load from where it is now.
    if (!entry.model) entry.resolved = resolved;
    return entry;
  }

  async #load(entry: PoolEntry, signal: AbortSignal): Promise<void> {
    const started = this.#clock.now();
    try {
      entry.error = undefined;
      this.#setState(entry, 'loading');
      const backend = this.options.backends.find((b) => b.accepts(entry.resolved));
      if (!backend) throw new HearthError('MODEL_UNSUPPORTED', `no backend can load ${entry.resolved.ref} (${entry.resolved.primary.path})`);
      // Not awaited: the backend starts up beside the integrity check below.
      void backend.prepare?.(entry.resolved);
      // Bit rot is found before it is served: the store re-hashes files that changed since their
      // last verification, or whose verification is old (HEARTH_VERIFY_ON_LOAD), once per process.
      if (!entry.intact) {
        const integrity = await this.options.store.assertIntact(entry.resolved, { signal });
        entry.intact = true;
        if (integrity.hashed > 0) this.options.logger.info({ model: entry.resolved.ref, ...integrity }, 'model files verified before loading');
      }
      entry.info = await backend.inspect(entry.resolved, signal);
      await this.#reserve(entry, entry.info.estimatedBytes, signal);
      const kind = kindOf(entry);
      // Read once: the load takes the stored pick, and the warm-up then neither measures nor reads it again.
      const digest = entry.resolved.primary.digest;
      const stored = this.options.tuner && this.options.config.threads === undefined && digest ? await this.options.tuner.cached(digest, kind) : undefined;
      entry.model = await backend.load(entry.resolved, {
        ...initialParallelism(kind, this.options.config, stored),
        info: entry.info,
        contextSize: this.options.config.contextSize,
        signal,
        onBatch: (batch) => this.events.emit('batch', batch),
        cpu: this.#gateFor(entry),
      });
      entry.loadMs = this.#clock.now() - started;
      this.#setState(entry, 'warming');
      await this.#warm(entry, kind, stored, signal);
      this.#setState(entry, 'ready');
      this.options.logger.info({ model: entry.resolved.ref, loadMs: entry.loadMs, warmMs: entry.warmMs, identity: entry.model.identity }, 'model ready');
    } catch (error) {
      const typed = toHearthError(error);
      await entry.model?.dispose().catch(() => undefined);
      entry.model = undefined;
      this.#unreserve(entry);
      // Every caller gave up, or there was no room: nothing is wrong with the model, so it is not marked failed.
      const nothingWrong = typed.code === 'ABORTED' || typed.code === 'POOL_FULL';
      entry.error = nothingWrong ? undefined : typed.message;
      this.#setState(entry, nothingWrong ? 'cached' : 'failed');
      this.options.logger[nothingWrong ? 'info' : 'warn']({ model: entry.resolved.ref, code: typed.code, err: typed.message }, nothingWrong ? 'model load stopped' : 'model load failed');
      throw typed;
    }
  }

  /** Makes room under the count and memory limits by the placement rule (placement.ts), waiting for busy models for at most loadWaitMs. */
  async #reserve(entry: PoolEntry, bytes: number, signal: AbortSignal): Promise<void> {
    const waitMs = this.options.config.loadWaitMs ?? 30_000;
    const deadline = new AbortController();
    const timer = this.#clock.setTimer(() => deadline.abort(), waitMs);
    const release = await this.#capacity.acquire(1, signal);
    try {
      for (;;) {
        const others = [...this.#entries.values()];
        const placement = place(entry, bytes, others, this.options.config);
        if (placement.kind === 'fits') break;
        if (placement.kind === 'refuse') throw placement.error;
        if (placement.kind === 'evict') {
          await this.#unload(placement.victim, 'evicted');
          continue;
        }
        try {
          this.events.emit('waiting', entry.resolved.ref);
          await waitForChange(this.#changes, AbortSignal.any([signal, deadline.signal]));
        } catch (error) {
          if (signal.aborted) throw abortError(signal);
          throw busyTooLong(entry, placement.limit, waitMs, others, error);
        }
      }
      entry.reserved = bytes;
    } finally {
      this.#clock.clearTimer(timer);
      release();
    }
  }

  /**
   * Tunes (unless threads are fixed) and runs one real inference, holding every
   * CPU slot so no other model disturbs the measurement. Meanwhile the model's
   * own work goes through a gate of its own with the same capacity, so each
   * candidate is measured under the rule it will be served under.
   */
  async #warm(entry: PoolEntry, kind: ModelKind, stored: TuneResult | undefined, signal: AbortSignal): Promise<void> {
    const started = this.#clock.now();
    const release = await this.#cpu.acquire(this.options.config.cpus, signal);
    entry.warmGate = new Semaphore(this.options.config.cpus);
    try {
      const model = entry.model!;
      if (this.options.tuner && this.options.config.threads === undefined) {
        entry.tuning = stored ?? (await this.options.tuner.tune(model, entry.resolved.primary.digest, kind, signal));
      }
      throwIfAborted(signal);
      await warmUp(model, kind, signal);
      entry.warmMs = this.#clock.now() - started;
    } finally {
      entry.warmGate = undefined;
      release();
    }
  }

  /** The model's way through the CPU gate: its threads' worth of slots per unit of work (from its own gate while it warms alone). */
  #gateFor(entry: PoolEntry): CpuGate {
    const { cpus } = this.options.config;
    return { acquire: (threads) => (entry.warmGate ?? this.#cpu).acquire(Math.min(cpus, Math.max(1, threads))) };
  }

  #finish(entry: PoolEntry): void {
    entry.inFlight--;
    this.#touch(entry);
    if (entry.inFlight === 0) this.#scheduleExpiry(entry);
    this.#changes.emit('change');
  }

  #scheduleExpiry(entry: PoolEntry): void {
    this.#cancelExpiry(entry);
    if (entry.state !== 'ready' || entry.pinned || entry.keepAliveMs < 0) return;
    if (entry.keepAliveMs === 0) {
      void this.#unload(entry, 'keep_alive 0');
      return;
    }
    entry.expiresAt = this.#clock.now() + entry.keepAliveMs;
    armExpiry(entry, this.#clock, () => {
      if (entry.inFlight === 0) void this.#unload(entry, 'keep-alive expired');
    });
  }

  #cancelExpiry(entry: PoolEntry): void {
    cancelExpiry(entry, this.#clock);
  }

  async #unload(entry: PoolEntry, reason: string): Promise<void> {
    this.#cancelExpiry(entry);
    const model = entry.model;
    entry.model = undefined;
    if (entry.state !== 'failed') this.#setState(entry, 'cached');
    this.#unreserve(entry);
    if (model) {
      await model.dispose().catch((error: unknown) => this.options.logger.warn({ err: (error as Error).message }, 'error unloading model'));
      this.options.logger.info({ model: entry.resolved.ref, reason }, 'model unloaded');
    }
    this.#changes.emit('change');
  }

  #unreserve(entry: PoolEntry): void {
    entry.reserved = 0;
    this.#changes.emit('change');
  }

  async #preloadOne(name: string): Promise<void> {
    const pending = { state: 'cached' as ModelState, error: undefined as string | undefined };
    this.#pending.set(name, pending);
    try {
      const status = await this.options.store.status(name);
      if (!status.cached) {
        if (this.options.store.offline) throw new HearthError('OFFLINE_NOT_CACHED', `offline and ${name} is not cached`);
        this.#setPending(name, pending, 'pulling');
        await this.options.store.pull(name, { signal: this.#lifetime.signal });
      }
      (await this.acquire(name, { keepAlive: -1, pin: true })).release();
    } catch (error) {
      this.#setPending(name, pending, 'failed', toHearthError(error).message);
      this.options.logger.error({ model: name, err: pending.error }, 'preload failed');
    }
  }

  #setState(entry: PoolEntry, state: ModelState): void {
    if (entry.state === state) return;
    entry.state = state;
    for (const name of entry.names) this.events.emit('state', name, state, entry.error);
  }

  #setPending(name: string, pending: { state: ModelState; error: string | undefined }, state: ModelState, error?: string): void {
    pending.state = state;
    pending.error = error;
    this.events.emit('state', name, state, error);
  }

  #assertLive(): void {
    if (this.#disposed) throw new HearthError('ABORTED', 'the model pool is shut down');
  }
}

async function waitForChange(changes: EventEmitter, signal: AbortSignal): Promise<void> {
  try {
    await once(changes, 'change', { signal });
  } catch (error) {
    throw new HearthError('ABORTED', 'gave up waiting for a free model slot', { cause: error });
  }
}
