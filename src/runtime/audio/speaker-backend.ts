import { modelFormat } from '../../formats/index.js';
import type { Logger } from '../../log/logger.js';
import type { ResolvedModel } from '../../store/index.js';
import { ENGINE_FORMATS, hasFormat } from '../engine-formats.js';
import { onnxRuntimeVersion } from '../engine-versions.js';
import { mlasKernelVariant } from '../onnx/onnx-build.js';
import { ungated, type Backend, type LoadOptions, type LoadedModel, type ModelInfo } from '../types.js';
import { onnxExportInspect, onnxExportSource } from './onnx-export-source.js';
import { SpeakerLoadedModel } from './speaker-model.js';
import { speechBrainInspect, speechBrainSource } from './speechbrain-source.js';

export interface SpeakerBackendOptions {
  logger: Logger;
  /** Clips per inference. */
  maxRows: number;
}

/**
 * Speaker-embedding models on ONNX Runtime: SpeechBrain repos
 * (spkrec-ecapa-voxceleb's layout, built into a graph from the checkpoint,
 * no Python and no exported .onnx), and ready-made ONNX exports that declare
 * their front end in hearth-speaker.json.
 */
export class SpeakerBackend implements Backend {
  readonly name = 'speaker';
  readonly #version = onnxRuntimeVersion();
  readonly #cpuVariant = mlasKernelVariant();

  constructor(private readonly options: SpeakerBackendOptions) {}

  accepts(model: ResolvedModel): boolean {
    return hasFormat(model, ENGINE_FORMATS.speaker);
  }

  inspect(model: ResolvedModel): Promise<ModelInfo> {
    return modelFormat(model) === 'speechbrain' ? speechBrainInspect(model) : onnxExportInspect(model);
  }

  async load(model: ResolvedModel, options: LoadOptions): Promise<LoadedModel> {
    const source = modelFormat(model) === 'speechbrain' ? await speechBrainSource(model, options.signal) : await onnxExportSource(model);
    const loaded = await SpeakerLoadedModel.create(
      source,
      {
        ref: model.ref,
        threads: options.threads,
        parallel: options.parallel,
        maxRows: this.options.maxRows,
        onBatch: options.onBatch,
        cpu: options.cpu ?? ungated,
        engineVersion: this.#version,
        cpuVariant: this.#cpuVariant,
      },
      options.signal,
    );
    this.options.logger.debug({ model: model.ref, format: source.info.format, dims: loaded.speaker.dims }, 'speaker model loaded');
    return loaded;
  }

  async dispose(): Promise<void> {
    // Sessions belong to the models; the backend holds nothing of its own.
  }
}
