import type { LoadOptions, LoadedModel } from '../../src/runtime/types.js';
import type { ResolvedModel } from '../../src/store/index.js';
import { WrappedBackend } from './wrapped-backend.js';

/** A real backend, instrumented: counts the loads that reach it (not a mock: every call goes through). */
export class CountingBackend extends WrappedBackend {
  readonly loads: string[] = [];
  readonly disposedModels: string[] = [];

  override async load(model: ResolvedModel, options: LoadOptions): Promise<LoadedModel> {
    this.loads.push(model.ref);
    return super.load(model, options);
  }

  protected wrap(loaded: LoadedModel, model: ResolvedModel): LoadedModel {
    const dispose = loaded.dispose.bind(loaded);
    loaded.dispose = async () => {
      if (!this.disposedModels.includes(model.ref)) this.disposedModels.push(model.ref);
      await dispose();
    };
    return loaded;
  }
}
