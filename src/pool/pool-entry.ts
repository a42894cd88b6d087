import type { ResolvedModel } from '../store/index.js';
import type { LoadedModel, ModelInfo, RuntimeIdentity } from '../runtime/types.js';
import type { Semaphore } from '../lifecycle/semaphore.js';
import type { TuneResult } from './tuner.js';

/** missing → pulling → cached → loading → warming → ready, or failed(reason) from any step. */
export type ModelState = 'missing' | 'pulling' | 'cached' | 'loading' | 'warming' | 'ready' | 'failed';

/** One model file the pool knows about, loaded or not. */
export interface PoolEntry {
  key: string;
  names: Set<string>;
  resolved: ResolvedModel;
  state: ModelState;
  error: string | undefined;
  info: ModelInfo | undefined;
  model: LoadedModel | undefined;
  /** Bytes reserved against the memory budget while loading or loaded. */
  reserved: number;
  inFlight: number;
  pinned: boolean;
  keepAliveMs: number;
  expiresAt: number | undefined;
  timer: unknown;
  lastUsed: number;
  /** Recency rank for LRU eviction (higher = used later). */
  useOrder: number;
  tuning: TuneResult | undefined;
  loadMs: number | undefined;
  warmMs: number | undefined;
  /** While the model warms holding every shared CPU slot, the gate its own work goes through instead. */
  warmGate: Semaphore | undefined;
  /** True once its files were checked against their digests in this process. */
  intact: boolean;
}

/** What /api/ps and /health show about a model; plain data, safe to serialize. */
export interface ModelView {
  name: string;
  ref: string;
  state: ModelState;
  error: string | undefined;
  /** In the store on disk (resolved at least once). */
  cached: boolean;
  loaded: boolean;
  inFlight: number;
  pinned: boolean;
  /** Estimated bytes in RAM (from GGUF metadata before loading). */
  sizeBytes: number | undefined;
  fileBytes: number | undefined;
  digest: string | undefined;
  device: string | undefined;
  /** ISO time the model unloads if idle; null when it never expires or is not loaded. */
  expiresAt: string | null;
  identity: RuntimeIdentity | undefined;
  info: ModelInfo | undefined;
  tuning: TuneResult | undefined;
  loadMs: number | undefined;
  warmMs: number | undefined;
}

export function entryView(entry: PoolEntry, name: string): ModelView {
  const loaded = entry.model !== undefined && entry.state === 'ready';
  return {
    name,
    ref: entry.resolved.ref,
    state: entry.state,
    error: entry.error,
    cached: true,
    loaded,
    inFlight: entry.inFlight,
    pinned: entry.pinned,
    sizeBytes: entry.info?.estimatedBytes,
    fileBytes: entry.info?.fileBytes ?? entry.resolved.files.reduce((n, f) => n + f.size, 0),
    digest: entry.resolved.primary.digest,
    device: loaded ? entry.model!.identity.device : undefined,
    expiresAt: loaded ? isoTime(entry.expiresAt) : null,
    identity: loaded ? entry.model!.identity : undefined,
    info: entry.info,
    tuning: entry.tuning,
    loadMs: entry.loadMs,
    warmMs: entry.warmMs,
  };
}

/** An ISO time, or null for none; never throws (an out-of-range date would make /health fail). */
function isoTime(ms: number | undefined): string | null {
  if (ms === undefined) return null;
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** A preload that has not resolved to a file yet. */
export function placeholderView(name: string, state: ModelState, error: string | undefined): ModelView {
  return {
    name,
    ref: name,
    state,
    error,
    cached: false,
    loaded: false,
    inFlight: 0,
    pinned: false,
    sizeBytes: undefined,
    fileBytes: undefined,
    digest: undefined,
    device: undefined,
    expiresAt: null,
    identity: undefined,
    info: undefined,
    tuning: undefined,
    loadMs: undefined,
    warmMs: undefined,
  };
}
