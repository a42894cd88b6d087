import type { Logger } from '../log/logger.js';
import type { Store } from '../store/index.js';

export type ModelState = 'missing' | 'pulling' | 'cached' | 'failed';

export interface ModelView {
  name: string;
  state: ModelState;
  cached: boolean;
  loaded: boolean;
  device: string | null;
  expires_at: string | null;
  error?: string;
}

/**
 * In-memory view of the configured models, so /health answers from memory
 * and never waits on disk, network or inference. Preloads pull in the
 * background; the pool (next) adds loading states on top.
 */
export class ModelRegistry {
  readonly #views = new Map<string, ModelView>();

  constructor(
    private readonly store: Store,
    private readonly logger: Logger,
    names: readonly string[],
  ) {
    for (const name of names) this.#views.set(name, { name, state: 'missing', cached: false, loaded: false, device: null, expires_at: null });
  }

  list(): ModelView[] {
    return [...this.#views.values()].map((v) => ({ ...v }));
  }

  /** Checks the cache, then pulls what is missing when online; never throws. */
  async warm(signal: AbortSignal): Promise<void> {
    await Promise.all(
      [...this.#views.values()].map(async (view) => {
        try {
          const status = await this.store.status(view.name);
          if (!status.cached && !this.store.offline) {
            view.state = 'pulling';
            await this.store.pull(view.name, { signal });
          } else if (!status.cached) {
            throw new Error(`offline and ${view.name} is not cached`);
          }
          Object.assign(view, { state: 'cached', cached: true });
        } catch (error) {
          Object.assign(view, { state: 'failed', error: (error as Error).message });
          this.logger.error({ model: view.name, err: (error as Error).message }, 'preload failed');
        }
      }),
    );
  }
}
