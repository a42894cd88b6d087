import { HearthError, isHearthError } from '../errors/index.js';
import type { ModelFormat } from '../formats/index.js';
import type { ResolvedModel } from '../store/index.js';
import { hasFormat } from './engine-formats.js';
import type { Backend, LoadOptions, LoadedModel, ModelInfo } from './types.js';

/**
 * A backend whose module is imported when it first has a model to handle.
 * Engines are heavy to import (node-llama-cpp ~250 ms on 2 vCPUs, ONNX
 * Runtime with the audio front end ~80 ms), and a server loads the ones its
 * models use: importing all three sat in front of every start's first load.
 * Which models it takes is decided from their file names, with the formats
 * the backend itself accepts (engine-formats.ts), so nothing is imported to
 * answer `accepts`.
 */
export function lazyBackend(name: string, formats: readonly ModelFormat[], create: () => Promise<Backend>): Backend {
  let backend: Promise<Backend> | undefined;
  let disposed = false;
  const get = (): Promise<Backend> => {
    if (disposed) return Promise.reject(new HearthError('MODEL_LOAD_FAILED', `the ${name} backend is disposed`));
    backend ??= create().catch((error: unknown) => {
      backend = undefined;
      throw isHearthError(error) ? error : new HearthError('MODEL_LOAD_FAILED', `the ${name} backend could not start: ${(error as Error).message}`, { cause: error });
    });
    return backend;
  };
  return {
    name,
    accepts: (model: ResolvedModel) => hasFormat(model, formats),
    async prepare(model: ResolvedModel): Promise<void> {
      // The import is part of what must be under way: it is most of the cost.
      await get().then((b) => b.prepare?.(model), () => undefined);
    },
    async inspect(model: ResolvedModel, signal?: AbortSignal): Promise<ModelInfo> {
      return (await get()).inspect(model, signal);
    },
    async load(model: ResolvedModel, options: LoadOptions): Promise<LoadedModel> {
      return (await get()).load(model, options);
    },
    async dispose(): Promise<void> {
      if (disposed) return;
      disposed = true;
      const started = backend;
      backend = undefined;
      await started?.then((b) => b.dispose(), () => undefined);
    },
  };
}
