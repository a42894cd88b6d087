import type { Backend, LoadOptions, LoadedModel, ModelInfo } from '../../src/runtime/types.js';
import type { ResolvedModel } from '../../src/store/index.js';

/**
 * A real backend with a hook on every model it loads: every call still goes
 * through to the real engine (instrumentation, never a mock).
 */
export abstract class WrappedBackend implements Backend {
  constructor(protected readonly inner: Backend) {}

  get name(): string {
    return this.inner.name;
  }

  accepts(model: ResolvedModel): boolean {
    return this.inner.accepts(model);
  }

  async prepare(model: ResolvedModel): Promise<void> {
    await this.inner.prepare?.(model);
  }

  inspect(model: ResolvedModel, signal?: AbortSignal): Promise<ModelInfo> {
    return this.inner.inspect(model, signal);
  }

  async load(model: ResolvedModel, options: LoadOptions): Promise<LoadedModel> {
    return this.wrap(await this.inner.load(model, options), model, options);
  }

  dispose(): Promise<void> {
    return this.inner.dispose();
  }

  /** Instruments a freshly loaded model (in place) and returns it. */
  protected abstract wrap(loaded: LoadedModel, model: ResolvedModel, options: LoadOptions): LoadedModel;
}
