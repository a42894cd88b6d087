import { GgmlType, GgufInsights, readGgufFileInfo, type GgufFileInfo } from 'node-llama-cpp';
import { HearthError } from '../../errors/index.js';
import type { Logger } from '../../log/logger.js';
import type { ResolvedModel } from '../../store/index.js';
import { ENGINE_FORMATS, hasFormat } from '../engine-formats.js';
import { hasToolFormat } from '../template-facts.js';
import { ungated, type Backend, type LoadOptions, type LoadedModel, type ModelInfo, type Pooling } from '../types.js';
import { LlamaLoadedModel } from './llama-model.js';
import { takeHeadStart, type LlamaRuntimeSettings } from './head-start.js';
import { createLlamaRuntime, type LlamaRuntime } from './llama-runtime.js';

export interface LlamaBackendOptions extends LlamaRuntimeSettings {
  logger: Logger;
  /** L2-normalize embeddings (what Ollama and sentence-transformers return). */
  normalize?: boolean;
}

const POOLING: Record<number, Pooling> = { 0: 'none', 1: 'mean', 2: 'cls', 3: 'last', 4: 'rank' };

/** Encoder-only architectures llama.cpp runs: they embed (or rank) and cannot generate. */
const ENCODER_ARCHITECTURES = new Set(['bert', 'nomic-bert', 'nomic-bert-moe', 'jina-bert-v2', 'jina-bert-v3', 'neo-bert', 'modern-bert', 't5encoder']);

/** GGUF models through node-llama-cpp. One llama.cpp runtime, made on first use, serves every model. */
export class LlamaBackend implements Backend {
  readonly name = 'llama.cpp';
  #runtime: Promise<LlamaRuntime> | undefined;
  #disposed = false;

  constructor(private readonly options: LlamaBackendOptions) {}

  accepts(model: ResolvedModel): boolean {
    return hasFormat(model, ENGINE_FORMATS.llama);
  }

  runtime(): Promise<LlamaRuntime> {
    if (this.#disposed) throw new HearthError('MODEL_LOAD_FAILED', 'backend disposed');
    if (!this.#runtime) {
      const { device, logger, cpuVariant, probeFile } = this.options;
      // One that `hearth serve` started before its CLI loaded, when it was started with these settings.
      const headStart = takeHeadStart(this.options);
      if (headStart) logger.debug('llama.cpp runtime: taking the one serve started ahead');
      this.#runtime = (headStart ?? createLlamaRuntime(device, logger, { cpuVariant, probeFile })).catch((error: unknown) => {
        this.#runtime = undefined;
        throw error;
      });
    }
    return this.#runtime;
  }

  async prepare(): Promise<void> {
    if (!this.#disposed) this.runtime().catch(() => undefined);
  }

  async inspect(model: ResolvedModel, signal?: AbortSignal): Promise<ModelInfo> {
    // The header is read while the runtime starts: at a server's start that is llama.cpp's binary check, ~0.4 s.
    const reading = readGgufFileInfo(model.primary.localPath, { signal, spliceSplitFiles: true, logWarnings: false });
    reading.catch(() => undefined); // awaited below, after the runtime, whose failure is reported first
    const { llama } = await this.runtime();
    let fileInfo: GgufFileInfo;
    try {
      fileInfo = await reading;
    } catch (error) {
      throw new HearthError('MODEL_LOAD_FAILED', `${model.ref} is not a readable GGUF file: ${(error as Error).message}`, { cause: error });
    }
    const insights = await GgufInsights.from(fileInfo, llama);
    const arch = fileInfo.metadata.general.architecture;
    const archMeta = (fileInfo.architectureMetadata ?? {}) as { pooling_type?: number; attention?: { causal?: boolean } };
    const embeddingOnly = ENCODER_ARCHITECTURES.has(arch) || archMeta.attention?.causal === false || (insights.hasEncoder && !insights.hasDecoder);
    const trainContextSize = insights.trainContextSize ?? 2048;
    const weights = insights.estimateModelResourceRequirements({ gpuLayers: 0 }).cpuRam;
    const context = insights.estimateContextResourceRequirements({
      contextSize: Math.min(trainContextSize, embeddingOnly ? 8192 : 4096),
      modelGpuLayers: 0,
      sequences: 1,
      isEmbeddingContext: embeddingOnly,
    }).cpuRam;
    const template = fileInfo.metadata.tokenizer?.chat_template;
    const chatTemplate = typeof template === 'string' ? template : undefined;
    return {
      format: 'gguf',
      architecture: arch,
      capabilities: embeddingOnly ? ['embedding'] : ['generation', 'embedding', ...(hasToolFormat(chatTemplate) ? (['tools'] as const) : []), ...(hasFimTokens(fileInfo) ? (['insert'] as const) : [])],
      trainContextSize,
      fileBytes: model.files.reduce((n, f) => n + f.size, 0),
      estimatedBytes: weights + context,
      pooling: embeddingOnly || archMeta.pooling_type !== undefined ? (POOLING[archMeta.pooling_type ?? 0] ?? 'none') : 'last',
      quantization: insights.dominantTensorType !== undefined ? GgmlType[insights.dominantTensorType] : undefined,
      parameters: insights.totalParameters || undefined,
      chatTemplate,
    };
  }

  async load(model: ResolvedModel, options: LoadOptions): Promise<LoadedModel> {
    const info = options.info ?? (await this.inspect(model, options.signal));
    const runtime = await this.runtime();
    try {
      const loaded = await runtime.llama.loadModel({ modelPath: model.primary.localPath, gpuLayers: runtime.device === 'cpu' ? 0 : 'auto', loadSignal: options.signal });
      return new LlamaLoadedModel(runtime, loaded, info, {
        threads: options.threads,
        parallel: options.parallel,
        contextSize: options.contextSize,
        normalize: this.options.normalize ?? true,
        digest: model.primary.digest,
        onBatch: options.onBatch,
        cpu: options.cpu ?? ungated,
      });
    } catch (error) {
      if (options.signal?.aborted) throw new HearthError('ABORTED', 'model load aborted', { cause: error });
      throw new HearthError('MODEL_LOAD_FAILED', `cannot load ${model.ref}: ${(error as Error).message}`, { cause: error });
    }
  }

  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    const runtime = await this.#runtime?.catch(() => undefined);
    await runtime?.dispose();
  }
}

/** Fill-in-the-middle token ids in the metadata (llama.cpp's keys, and their older names); llama.cpp checks the same before an infill. */
function hasFimTokens(fileInfo: GgufFileInfo): boolean {
  const t = fileInfo.metadata.tokenizer?.ggml;
  const set = (...ids: Array<number | undefined>) => ids.some((id) => typeof id === 'number' && id >= 0);
  return !!t && set(t.fim_pre_token_id, t.prefix_token_id) && set(t.fim_suf_token_id, t.suffix_token_id) && set(t.fim_mid_token_id, t.middle_token_id);
}
