import type { Logger } from '../../log/logger.js';
import { isExternalData } from '../../formats/index.js';
import type { ResolvedModel } from '../../store/index.js';
import { ungated, type Backend, type LoadOptions, type LoadedModel, type ModelInfo } from '../types.js';
import type { BatchLimits } from './batch-plan.js';
import { readEncoderConfig, type EncoderConfig } from './encoder-config.js';
import { ENGINE_FORMATS, hasFormat } from '../engine-formats.js';
import { onnxRuntimeVersion } from '../engine-versions.js';
import { mlasKernelVariant } from './onnx-build.js';
import { OnnxLoadedModel } from './onnx-model.js';
import { TextTokenizer } from './text-tokenizer.js';

export interface OnnxBackendOptions {
  logger: Logger;
  /** Padded tokens per inference and rows per inference. */
  batch: BatchLimits;
}

/** Working memory of one session beyond its weights: arena and activations for a budget-sized batch. */
const SESSION_OVERHEAD_BYTES = 64 * 1024 * 1024;

/**
 * BERT-class sentence-transformers encoders exported to ONNX, through ONNX
 * Runtime. It takes padded batches natively, which llama.cpp's embedding API
 * (one sequence per context) cannot, so it is the fast path for embeddings on CPU.
 */
export class OnnxBackend implements Backend {
  readonly name = 'onnxruntime';
  readonly #version = onnxRuntimeVersion();
  readonly #cpuVariant = mlasKernelVariant();

  constructor(private readonly options: OnnxBackendOptions) {}

  /** Any .onnx graph except a speaker-embedding export (its sidecar says so), which the speaker backend serves. */
  accepts(model: ResolvedModel): boolean {
    return hasFormat(model, ENGINE_FORMATS.onnx);
  }

  async inspect(model: ResolvedModel): Promise<ModelInfo> {
    return infoOf(model, await readEncoderConfig(model));
  }

  async load(model: ResolvedModel, options: LoadOptions): Promise<LoadedModel> {
    const config = await readEncoderConfig(model);
    const tokenizer = await TextTokenizer.load(config.tokenizer, config.tokenizerConfig, model.ref);
    const loaded = await OnnxLoadedModel.create(
      infoOf(model, config),
      config,
      tokenizer,
      {
        ref: model.ref,
        modelPath: model.primary.localPath,
        digest: model.primary.digest,
        threads: options.threads,
        parallel: options.parallel,
        limits: this.options.batch,
        onBatch: options.onBatch,
        cpu: options.cpu ?? ungated,
        engineVersion: this.#version,
        cpuVariant: this.#cpuVariant,
      },
      options.signal,
    );
    this.options.logger.debug({ model: model.ref, pooling: config.pooling, normalize: config.normalize, maxTokens: config.maxTokens }, 'onnx model loaded');
    return loaded;
  }

  async dispose(): Promise<void> {
    // Sessions belong to the models; the backend holds nothing of its own.
  }
}

function infoOf(model: ResolvedModel, config: EncoderConfig): ModelInfo {
  const fileBytes = model.files.reduce((n, f) => n + f.size, 0);
  const weights = model.files.filter((f) => f.path === model.primary.path || isExternalData(model.primary.path, f.path));
  const weightBytes = weights.reduce((n, f) => n + f.size, 0);
  return {
    format: 'onnx',
    architecture: config.architecture,
    capabilities: ['embedding'],
    trainContextSize: config.maxTokens,
    fileBytes,
    estimatedBytes: weightBytes + SESSION_OVERHEAD_BYTES,
    pooling: config.pooling,
    quantization: config.variant,
    parameters: parametersOf(config),
    chatTemplate: undefined,
  };
}

/** BERT's parameter count from its shape: embeddings plus 12·h² + 13·h per layer (attention, FFN of 4h, norms). */
function parametersOf(config: EncoderConfig): number | undefined {
  const { hidden: h, layers, vocabSize, maxPositions } = config;
  if (!h || !layers || !vocabSize) return undefined;
  return (vocabSize + (maxPositions ?? 0) + 2) * h + layers * (12 * h * h + 13 * h);
}
