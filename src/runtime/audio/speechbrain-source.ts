import { readFile } from 'node:fs/promises';
import { SPEECHBRAIN_RECIPE } from '../../formats/index.js';
import { readHyperPyYaml, speakerRecipe, type SpeakerRecipe } from '../../formats/speechbrain/index.js';
import { isTorchTensor, readTorchCheckpoint } from '../../formats/torch/index.js';
import { HearthError } from '../../errors/index.js';
import type { ResolvedModel, StoredFile } from '../../store/index.js';
import type { ModelInfo } from '../types.js';
import { buildEcapaGraph, ecapaMinFrames } from './ecapa-graph.js';
import { FBANK_SAMPLE_RATE, HOP_LENGTH, N_FFT, N_MELS } from './fbank.js';
import { SESSION_OVERHEAD_BYTES, type SpeakerSource } from './speaker-source.js';

/** The Fbank hearth's front end computes (fbank.ts); a recipe asking for another is refused. */
const SUPPORTED_FBANK = { sampleRate: FBANK_SAMPLE_RATE, nFft: N_FFT, winLength: N_FFT, hopLength: HOP_LENGTH, nMels: N_MELS, fMin: 0, fMax: FBANK_SAMPLE_RATE / 2, topDb: 80 };

/**
 * A SpeechBrain repo (spkrec-ecapa-voxceleb's layout): hyperparams.yaml read
 * as data, the checkpoints through the pickle allow-list, and the
 * ECAPA-TDNN network built as an ONNX graph in memory.
 */
export async function speechBrainSource(model: ResolvedModel, signal: AbortSignal | undefined): Promise<SpeakerSource> {
  const recipe = await readRecipe(model);
  const checkpoint = fileOf(model, recipe.checkpoints.embedding_model ?? 'embedding_model.ckpt', true)!;
  const state = await readTorchCheckpoint(checkpoint.localPath, { signal });
  return {
    info: speechBrainInfo(model, recipe),
    graph: buildEcapaGraph(state, recipe.ecapa, model.ref),
    names: { features: 'feats', lengths: 'lengths', output: 'embedding' },
    digest: checkpoint.digest,
    sentenceNorm: recipe.sentenceNorm,
    embeddingMean: await embeddingMean(model, recipe),
    minSamples: (ecapaMinFrames(recipe.ecapa) - 1) * HOP_LENGTH,
  };
}

export async function speechBrainInspect(model: ResolvedModel): Promise<ModelInfo> {
  return speechBrainInfo(model, await readRecipe(model));
}

async function readRecipe(model: ResolvedModel): Promise<SpeakerRecipe> {
  const what = `${model.ref} (${SPEECHBRAIN_RECIPE})`;
  const recipe = speakerRecipe(readHyperPyYaml(await readFile(model.primary.localPath, 'utf8'), what), what);
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

function speechBrainInfo(model: ResolvedModel, recipe: SpeakerRecipe): ModelInfo {
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
