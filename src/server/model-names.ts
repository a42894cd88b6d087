import { HearthError, isHearthError } from '../errors/index.js';
import { deriveName, parseRef, tryParseRef, type ModelRef, type NameIndex, type Store } from '../store/index.js';

/** A miss rebuilds the index at most this often, so a flood of unknown names cannot make the server walk the cache for each. */
const REBUILD_INTERVAL_MS = 1000;

/**
 * The server's view of the store's model names (Store.names): kept in
 * memory for /health and metric labels, rebuilt when the store changes, and
 * what a name in a request stands for. Every name hearth lists resolves here.
 */
export class ModelNames {
  #index: NameIndex;
  #built: Promise<NameIndex> | undefined;
  #builtAt = 0;
  #stale = true;

  constructor(private readonly store: Store) {
    this.#index = store.configuredNames();
  }

  /** Configured aliases and the definitions made by create or copy, as they are now. */
  get aliases(): Readonly<Record<string, string>> {
    return this.store.aliases;
  }

  /** The current index, rebuilt from the store when something changed. */
  async index(): Promise<NameIndex> {
    if (!this.#stale) return this.#index;
    this.#built ??= this.#build().finally(() => (this.#built = undefined));
    return this.#built;
  }

  /** Call after the store changed in this process (a pull, a delete). */
  invalidate(): void {
    this.#stale = true;
  }

  /** The reference (or alias) a request's model name stands for; see ModelAccess.resolve. */
  async resolve(model: string): Promise<string> {
    let parsed: ModelRef | undefined;
    try {
      parsed = parseRef(model, this.aliases, { probeFilesystem: false });
    } catch (error) {
      if (!isHearthError(error, 'REF_INVALID')) throw error;
    }
    if (parsed && (parsed.kind === 'hf-file' || parsed.kind === 'hf-quant' || parsed.kind === 'hf-repo' || this.#isAlias(model))) return model;
    let found = (await this.index()).lookup(model);
    if (found === undefined && Date.now() - this.#builtAt >= REBUILD_INTERVAL_MS) {
      this.#stale = true;
      found = (await this.index()).lookup(model);
    }
    if (found !== undefined) return found;
    if (parsed) {
      // Checked before anything touches the disk, so the answer is the same whether the path exists or not.
      throw new HearthError('MODEL_NOT_FOUND', `model "${model}" not found: ${parsed.kind === 'local' ? 'file paths' : 'URLs'} are not accepted over HTTP`, {
        hint: 'use a name from GET /v1/models or /api/tags, a hub reference (hf:<owner>/<repo>), or add an alias for it in the config file',
      });
    }
    throw new HearthError('MODEL_NOT_FOUND', `model "${model}" not found`, {
      hint: 'use a name from GET /v1/models or /api/tags, a hub reference such as hf:<owner>/<repo>, or an alias from the config',
    });
  }

  /** The name to show for a reference, an alias or a configured preload, from memory only. */
  display(refOrName: string): string {
    const ref = this.#parse(refOrName);
    if (!ref) return refOrName;
    return this.#index.nameOf(ref.text) ?? deriveName(ref).short;
  }

  /**
   * A bounded metrics label for a request's raw model field: its display name
   * when it names a model hearth knows, and "other" for anything else, so
   * made-up names cannot grow the metrics without bound.
   */
  label(model: unknown): string {
    if (typeof model !== 'string' || model.length === 0) return '';
    const found = this.#index.lookup(model) ?? this.#knownRef(model);
    return found === undefined ? 'other' : this.display(found);
  }

  async #build(): Promise<NameIndex> {
    this.#stale = false;
    this.#builtAt = Date.now();
    this.#index = await this.store.names();
    return this.#index;
  }

  #knownRef(model: string): string | undefined {
    const ref = this.#parse(model);
    return ref && this.#index.nameOf(ref.text) !== undefined ? ref.text : undefined;
  }

  #isAlias(model: string): boolean {
    return Object.hasOwn(this.aliases, model);
  }

  #parse(text: string): ModelRef | undefined {
    return tryParseRef(text, this.aliases);
  }
}
