import type { Backend, LoadOptions, LoadedModel, ModelInfo } from '../../src/runtime/types.js';
import type { ResolvedModel } from '../../src/store/index.js';

/** A real backend, instrumented: counts the loads that reach it (not a mock: every call goes through). */
export class CountingBackend implements Backend {
  readonly loads: string[] = [];
  readonly disposedModels: string[] = [];

  constructor(private readonly inner: Backend) {}

  get name(): string {
    return this.inner.name;
  }

  accepts(model: ResolvedModel): boolean {
    return this.inner.accepts(model);
  }

  inspect(model: ResolvedModel, signal?: AbortSignal): Promise<ModelInfo> {
    return this.inner.inspect(model, signal);
  }

  async load(model: ResolvedModel, options: LoadOptions): Promise<LoadedModel> {
    this.loads.push(model.ref);
    const loaded = await this.inner.load(model, options);
    const dispose = loaded.dispose.bind(loaded);
    loaded.dispose = async () => {
      if (!this.disposedModels.includes(model.ref)) this.disposedModels.push(model.ref);
      await dispose();
    };
    return loaded;
  }

  dispose(): Promise<void> {
    return this.inner.dispose();
  }
}
