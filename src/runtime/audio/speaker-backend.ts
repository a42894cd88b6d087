import { readFile } from 'node:fs/promises';
import { SPEECHBRAIN_RECIPE } from '../../formats/index.js';
import { readHyperPyYaml, speakerRecipe, type SpeakerRecipe } from '../../formats/speechbrain/index.js';
import { isTorchTensor, readTorchCheckpoint } from '../../formats/torch/index.js';
import { HearthError } from '../../errors/index.js';
import type { Logger } from '../../log/logger.js';
import type { ResolvedModel, StoredFile } from '../../store/index.js';
import { mlasKernelVariant, onnxRuntimeVersion } from '../onnx/onnx-build.js';
import { ungated, type Backend, type LoadOptions, type LoadedModel, type ModelInfo } from '../types.js';
import { buildEcapaGraph, ecapaMinFrames } from './ecapa-graph.js';
import { FBANK_SAMPLE_RATE, HOP_LENGTH, N_FFT, N_MELS } from './fbank.js';
import { SpeakerLoadedModel } from './speaker-model.js';

export interface SpeakerBackendOptions {
  logger: Logger;
  /** Clips per inference. */
  maxRows: number;
}

/** Working memory of one session beyond its weights: arena and activations of a batch of long clips. */
const SESSION_OVERHEAD_BYTES = 96 * 1024 * 1024;

/** The Fbank hearth's front end computes (fbank.ts); a recipe asking for another is refused. */
const SUPPORTED_FBANK = { sampleRate: FBANK_SAMPLE_RATE, nFft: N_FFT, winLength: N_FFT, hopLength: HOP_LENGTH, nMels: N_MELS, fMin: 0, fMax: FBANK_SAMPLE_RATE / 2, topDb: 80 };

/**
 * SpeechBrain speaker-embedding repos (spkrec-ecapa-voxceleb's layout):
 * hyperparams.yaml read as data, the checkpoints through the pickle
 * allow-list, and the ECAPA-TDNN network built as an ONNX graph in memory,
 * run by ONNX Runtime. No Python, no PyTorch, no exported .onnx file.
 */
export class SpeakerBackend implements Backend {
  readonly name = 'speechbrain';
  readonly #version = onnxRuntimeVersion();
  readonly #cpuVariant = mlasKernelVariant();

  constructor(private readonly options: SpeakerBackendOptions) {}

  accepts(model: ResolvedModel): boolean {
    return model.primary.path === SPEECHBRAIN_RECIPE || model.primary.path.endsWith(`/${SPEECHBRAIN_RECIPE}`);
  }

  async inspect(model: ResolvedModel): Promise<ModelInfo> {
    return infoOf(model, await readRecipe(model));
  }

  async load(model: ResolvedModel, options: LoadOptions): Promise<LoadedModel> {
    const recipe = await readRecipe(model);
    const info = infoOf(model, recipe);
    const checkpoint = fileOf(model, recipe.checkpoints.embedding_model ?? 'embedding_model.ckpt', true)!;
    const state = await readTorchCheckpoint(checkpoint.localPath, { signal: options.signal });
    const graph = buildEcapaGraph(state, recipe.ecapa, model.ref);
    const minFrames = ecapaMinFrames(recipe.ecapa);
    const loaded = await SpeakerLoadedModel.create(
      info,
      {
        ref: model.ref,
        graph,
        digest: checkpoint.digest,
        sentenceNorm: recipe.sentenceNorm,
        embeddingMean: await embeddingMean(model, recipe),
        facts: { sampleRate: FBANK_SAMPLE_RATE, minSamples: (minFrames - 1) * HOP_LENGTH, dims: recipe.ecapa.linNeurons },
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
    this.options.logger.debug({ model: model.ref, channels: recipe.ecapa.channels, dims: recipe.ecapa.linNeurons, graphBytes: graph.byteLength }, 'speaker model loaded');
    return loaded;
  }

  async dispose(): Promise<void> {
    // Sessions belong to the models; the backend holds nothing of its own.
  }
}

async function readRecipe(model: ResolvedModel): Promise<SpeakerRecipe> {
  const recipe = speakerRecipe(readHyperPyYaml(await readFile(model.primary.localPath, 'utf8'), `${model.ref} (${SPEECHBRAIN_RECIPE})`), `${model.ref} (${SPEECHBRAIN_RECIPE})`);
  const differs = Object.entries(SUPPORTED_FBANK).filter(([k, v]) => recipe.fbank[k as keyof typeof SUPPORTED_FBANK] !== v);
  if (differs.length > 0) {
    throw new HearthError('MODEL_UNSUPPORTED', `${model.ref}: its Fbank differs from the one hearth computes in ${differs.map(([k]) => k).join(', ')}`, {
      details: { recipe: recipe.fbank, supported: SUPPORTED_FBANK },
    });
  }
  return recipe;
}

/** mean_var_norm_emb's global mean: what encode_batch(normalize=True) subtracts. */
async function embeddingMean(model: ResolvedModel, recipe: SpeakerRecipe): Promise<Float32Array | undefined> {
  const name = recipe.checkpoints.mean_var_norm_emb;
  const file = name === undefined ? undefined : fileOf(model, name, false);
  if (!file) return undefined;
  const state = await readTorchCheckpoint(file.localPath);
  const mean = state.get('glob_mean');
  if (!isTorchTensor(mean) || mean.dtype !== 'float32' || mean.data.length !== recipe.ecapa.linNeurons) {
    throw new HearthError('MODEL_UNSUPPORTED', `${model.ref}: ${name} has no float32 glob_mean of ${recipe.ecapa.linNeurons} values`);
  }
  return mean.data.slice();
}

function fileOf(model: ResolvedModel, path: string, required: boolean): StoredFile | undefined {
  const file = model.files.find((f) => f.path === path || f.path.endsWith(`/${path}`));
  if (!file && required) {
    throw new HearthError('MODEL_NOT_FOUND', `${model.ref}: the recipe loads ${path}, which the model's files do not include`, { details: { files: model.files.map((f) => f.path) } });
  }
  return file;
}

function infoOf(model: ResolvedModel, recipe: SpeakerRecipe): ModelInfo {
  const fileBytes = model.files.reduce((n, f) => n + f.size, 0);
  const weights = model.files.find((f) => f.path.endsWith(recipe.checkpoints.embedding_model ?? 'embedding_model.ckpt'))?.size ?? fileBytes;
  return {
    format: 'speechbrain',
    architecture: 'ecapa-tdnn',
    capabilities: ['speaker-embedding'],
    trainContextSize: 0,
    fileBytes,
    // The checkpoint is read, the graph built from it and a session made from the graph: about three copies at peak.
    estimatedBytes: 3 * weights + SESSION_OVERHEAD_BYTES,
    pooling: undefined,
    quantization: 'F32',
    parameters: Math.round(weights / 4),
    chatTemplate: undefined,
  };
}
