import { EventEmitter } from 'node:events';
import type { Config } from '../config/index.js';
import { HearthError, isHearthError, throwIfAborted } from '../errors/index.js';
import { SingleFlight } from '../lifecycle/single-flight.js';
import { silentLogger, type Logger } from '../log/logger.js';
import { exportBundle, importBundle, type BundleReport, type ImportReport } from './bundle.js';
import { notCachedError, resolveCached } from './cache-resolve.js';
import type { DownloadResult } from './download.js';
import { collectGarbage, type GcReport } from './gc.js';
import { HubClient } from './hub-client.js';
import { assertIntact } from './integrity.js';
import { listEntries } from './list.js';
import { DefinitionRegistry, type ModelDefinition } from './model-definitions.js';
import { NameIndex, normalizeName } from './model-names.js';
import { peekLocal, recordedFiles, registerLocal } from './local.js';
import { pullRef, type PullContext, type StoreHooks } from './pull.js';
import { Records } from './records.js';
import { parseRef, tryParseRef, type ModelRef } from './ref.js';
import { removeRef, type RemoveReport } from './remove.js';
import type { IntegrityReport, ModelStatus, PullEvent, PullResult, ResolvedModel, StoreEntry } from './types.js';
import { verifyStore, type VerifyReport } from './verify.js';

export interface OperationOptions {
  signal?: AbortSignal | undefined;
  onProgress?: ((event: PullEvent) => void) | undefined;
}

export interface StoreOptions {
  config: Readonly<Config>;
  logger?: Logger | undefined;
  /** Steps into the publish protocol; see StoreHooks. */
  hooks?: StoreHooks | undefined;
}

/**
 * The model store: pulls into the Hugging Face cache layout, resolves offline,
 * verifies, collects garbage, and moves models between machines as bundles.
 * Every pull's progress is also emitted as a 'progress' event for the API.
 */
export class Store {
  readonly hubCache: string;
  readonly home: string;
  readonly offline: boolean;
  readonly events = new EventEmitter<{ progress: [PullEvent] }>();
  readonly #config: Readonly<Config>;
  readonly #logger: Logger;
  readonly #records: Records;
  readonly #client: HubClient;
  readonly #flights = new SingleFlight<string, DownloadResult>();
  readonly #lifetime = new AbortController();
  readonly #hooks: StoreHooks | undefined;
  /** Models made by create or copy: names with settings of their own over a stored model. */
  readonly definitions: DefinitionRegistry;

  constructor(options: StoreOptions) {
    this.#config = options.config;
    this.#logger = options.logger ?? silentLogger;
    this.#hooks = options.hooks;
    this.hubCache = options.config.hubCache;
    this.home = options.config.home;
    this.offline = options.config.offline;
    this.#records = new Records(this.home, this.#logger);
    this.definitions = new DefinitionRegistry(this.home);
    this.#client = new HubClient({
      endpoint: options.config.endpoint,
      token: options.config.token,
      logger: this.#logger,
      userAgent: 'hearth/0.1',
      timeoutMs: options.config.pull.timeout,
    });
  }

  get endpoint(): string {
    return this.#client.endpoint;
  }

  /**
   * Every name that stands for another reference: the configured aliases,
   * and the definitions made by create or copy (a configured alias wins).
   */
  get aliases(): Readonly<Record<string, string>> {
    return { ...this.definitions.aliases(), ...this.#config.aliases };
  }

  parse(ref: string | ModelRef): ModelRef {
    return typeof ref === 'string' ? parseRef(ref, this.aliases) : ref;
  }

  /**
   * What a name stands for: a reference or an alias (as parse() reads them),
   * or else the name hearth lists a stored model under (`stories260k:latest`,
   * see model-names.ts). Only a name that is not a reference costs a listing.
   */
  async lookup(ref: string | ModelRef): Promise<ModelRef> {
    if (typeof ref !== 'string') return ref;
    try {
      return this.parse(ref);
    } catch (error) {
      if (!isHearthError(error, 'REF_INVALID')) throw error;
      const found = (await this.names()).lookup(ref);
      if (found === undefined) throw error;
      return this.parse(found);
    }
  }

  /** The names of every stored model, preload and alias target, both ways (see model-names.ts). */
  async names(): Promise<NameIndex> {
    await this.definitions.refresh();
    const stored = (await this.list()).flatMap((entry) => tryParseRef(entry.ref) ?? []);
    return new NameIndex([...stored, ...this.#configuredRefs()], this.aliases, this.#definedNames());
  }

  /** The names the configuration alone gives (preloads and alias targets, before their first use), from memory. */
  configuredNames(): NameIndex {
    return new NameIndex(this.#configuredRefs(), this.aliases, this.#definedNames());
  }

  /** The definition a name stands for (`mine` is `mine:latest`), unless a configured alias of that name hides it. */
  definition(name: string): ModelDefinition | undefined {
    const found = this.definitions.get(name) ?? this.definitions.get(normalizeName(name));
    return found && !this.isConfiguredAlias(found.name) ? found : undefined;
  }

  /** True when the configuration names an alias `name` (as names compare: case-insensitive, `:latest` implied). */
  isConfiguredAlias(name: string): boolean {
    const wanted = normalizeName(name);
    return Object.keys(this.#config.aliases).some((alias) => normalizeName(alias) === wanted);
  }

  /** Definitions a configured alias of the same name does not hide. */
  #definedNames(): string[] {
    return this.definitions.list().flatMap((d) => (this.isConfiguredAlias(d.name) ? [] : [d.name]));
  }

  #configuredRefs(): ModelRef[] {
    const aliases = this.aliases;
    return [...this.#config.preload, ...Object.keys(aliases)].flatMap((name) => tryParseRef(name, aliases) ?? []);
  }

  /**
   * What a local file or model directory that is not registered yet is made
   * of, from the disk alone (no hashing, nothing recorded): its total size
   * and its primary file, by the same selection a registration uses.
   */
  async peekLocal(path: string): Promise<{ size: number; primary: string; modifiedAt: Date } | undefined> {
    return peekLocal(path);
  }

  /** Downloads what is missing (or, offline, proves it is all cached). */
  async pull(ref: string | ModelRef, options: OperationOptions = {}): Promise<PullResult> {
    return pullRef(await this.lookup(ref), this.#context(options));
  }

  /** Resolves to files on disk without any network call; what a model loader uses. */
  async resolve(ref: string | ModelRef, options: OperationOptions = {}): Promise<ResolvedModel> {
    const parsed = await this.lookup(ref);
    if (parsed.kind === 'local') return registerLocal(parsed.path, this.#context(options));
    const cached = await resolveCached(parsed, this);
    if (!cached) throw notCachedError(parsed, this, this.offline);
    return cached;
  }

  /**
   * Checks that a resolved model's files still hold the bytes that were
   * verified, by `verify.onLoad` (auto, always, never); throws BLOB_CORRUPT
   * naming the file when one does not. Meant for just before a model's first
   * load in a process. Offline, and never writes anything but bookkeeping.
   */
  async assertIntact(model: ResolvedModel, options: { signal?: AbortSignal | undefined } = {}): Promise<IntegrityReport> {
    return assertIntact(model, {
      records: this.#records,
      logger: this.#logger,
      policy: this.#config.verify.onLoad,
      maxAgeMs: this.#config.verify.maxAge,
      signal: this.#signal(options.signal),
    });
  }

  /** Cheap, offline status for health checks: no hashing, no network. */
  async status(ref: string | ModelRef): Promise<ModelStatus> {
    const parsed = await this.lookup(ref);
    const model =
      parsed.kind === 'local'
        ? await this.#records.local(parsed.path).then((r) => r && { files: recordedFiles(r) })
        : await resolveCached(parsed, this);
    if (!model) return { ref: parsed.text, cached: false, verified: false, path: undefined, size: undefined, digest: undefined };
    const records = await Promise.all(model.files.map((f) => (f.digest ? this.#records.blob(f.digest) : undefined)));
    const verified =
      parsed.kind === 'local' ? true : model.files.every((f, i) => f.digest !== undefined && records[i]?.verifiedAt !== undefined);
    return {
      ref: parsed.text,
      cached: true,
      verified,
      path: model.files[0]!.localPath,
      size: model.files.reduce((sum, f) => sum + f.size, 0),
      digest: model.files[0]!.digest,
    };
  }

  async list(): Promise<StoreEntry[]> {
    return listEntries(this.hubCache, this.home, this.#records);
  }

  /** Removes a model, or only the definition when `ref` names one (the model under it stays). */
  async remove(ref: string | ModelRef): Promise<RemoveReport> {
    const definition = typeof ref === 'string' ? this.definition(ref) : undefined;
    if (definition) {
      await this.definitions.remove(definition.name);
      return { ref: definition.name, removed: [], freedBytes: 0 };
    }
    return removeRef(await this.lookup(ref), { hubCache: this.hubCache, home: this.home, records: this.#records, logger: this.#logger });
  }

  async verify(ref: string | ModelRef | undefined, options: OperationOptions & { repair?: boolean } = {}): Promise<VerifyReport> {
    return verifyStore(ref === undefined ? undefined : await this.lookup(ref), {
      hubCache: this.hubCache,
      home: this.home,
      records: this.#records,
      logger: this.#logger,
      offline: this.offline,
      repair: options.repair ?? false,
      signal: this.#signal(options.signal),
      pull: (r: string) => this.pull(r, options),
    });
  }

  async gc(options: { graceMs?: number; dryRun?: boolean; signal?: AbortSignal | undefined } = {}): Promise<GcReport> {
    return collectGarbage({
      hubCache: this.hubCache,
      home: this.home,
      graceMs: options.graceMs ?? this.#config.gc.grace,
      dryRun: options.dryRun ?? false,
      logger: this.#logger,
      signal: this.#signal(options.signal),
    });
  }

  async exportBundle(refs: Array<string | ModelRef>, file: string, options: OperationOptions = {}): Promise<BundleReport> {
    const models = [];
    for (const ref of refs) {
      const parsed = await this.lookup(ref);
      if (parsed.kind === 'local') throw new HearthError('USAGE', `${parsed.text} is a local file; copy it directly instead of exporting it`);
      models.push(await this.resolve(parsed, options));
    }
    return exportBundle(models, file, { home: this.home, signal: this.#signal(options.signal) });
  }

  async importBundle(file: string, options: OperationOptions = {}): Promise<ImportReport> {
    return importBundle(file, { hubCache: this.hubCache, home: this.home, records: this.#records, signal: this.#signal(options.signal), logger: this.#logger });
  }

  /** Aborts in-flight pulls and closes the hub connections; idempotent. */
  async dispose(): Promise<void> {
    this.#lifetime.abort(new HearthError('ABORTED', 'store disposed'));
    await this.#client.close();
  }

  /**
   * A signal of its own for each operation, even with no caller's signal: streams and locks add
   * listeners to the signal they get, and concurrent operations on the lifetime signal itself
   * would pile them up there (MaxListenersExceededWarning). A derived signal adds none to its sources.
   */
  #signal(signal: AbortSignal | undefined): AbortSignal {
    throwIfAborted(this.#lifetime.signal);
    return AbortSignal.any(signal ? [signal, this.#lifetime.signal] : [this.#lifetime.signal]);
  }

  #context(options: OperationOptions): PullContext {
    const { pull } = this.#config;
    return {
      hubCache: this.hubCache,
      home: this.home,
      client: this.#client,
      records: this.#records,
      logger: this.#logger,
      offline: this.offline,
      retries: pull.retries,
      idleTimeoutMs: pull.timeout,
      reserveBytes: pull.reserveBytes,
      connections: pull.connections,
      pieceBytes: pull.pieceBytes,
      flights: this.#flights,
      hooks: this.#hooks,
      signal: this.#signal(options.signal),
      emit: (event) => {
        options.onProgress?.(event);
        this.events.emit('progress', event);
      },
    };
  }
}

/** Factory: the one way to make a store. */
export function createStore(options: StoreOptions): Store {
  return new Store(options);
}
