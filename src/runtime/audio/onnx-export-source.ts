import { readFile } from 'node:fs/promises';
import { isExternalData, parseSpeakerSidecar, SPEAKER_SIDECAR, type SpeakerSidecar } from '../../formats/index.js';
import type { ResolvedModel } from '../../store/index.js';
import type { ModelInfo } from '../types.js';
import { FBANK_SAMPLE_RATE } from './fbank.js';
import { SESSION_OVERHEAD_BYTES, type SpeakerSource } from './speaker-source.js';

/** A ready-made ONNX speaker export: the graph runs as exported, fed by the front end its sidecar declares. */
export async function onnxExportSource(model: ResolvedModel): Promise<SpeakerSource> {
  const sidecar = await readSidecar(model);
  return {
    info: exportInfo(model, sidecar),
    graph: model.primary.localPath,
    names: { features: sidecar.inputs.features, lengths: sidecar.inputs.lengths, output: sidecar.output },
    digest: model.primary.digest,
    sentenceNorm: sidecar.features.sentence_norm,
    embeddingMean: sidecar.embedding_mean === undefined ? undefined : Float32Array.from(sidecar.embedding_mean),
    minSamples: Math.round(sidecar.min_seconds * FBANK_SAMPLE_RATE),
  };
}

export async function onnxExportInspect(model: ResolvedModel): Promise<ModelInfo> {
  return exportInfo(model, await readSidecar(model));
}

async function readSidecar(model: ResolvedModel): Promise<SpeakerSidecar> {
  const file = model.files.find((f) => f.path === SPEAKER_SIDECAR || f.path.endsWith(`/${SPEAKER_SIDECAR}`))!;
  return parseSpeakerSidecar(await readFile(file.localPath, 'utf8'), model.ref);
}

function exportInfo(model: ResolvedModel, sidecar: SpeakerSidecar): ModelInfo {
  const weights = model.files.filter((f) => f.path === model.primary.path || isExternalData(model.primary.path, f.path)).reduce((n, f) => n + f.size, 0);
  return {
    format: 'onnx',
    architecture: sidecar.architecture,
    capabilities: ['speaker-embedding'],
    trainContextSize: 0,
    fileBytes: model.files.reduce((n, f) => n + f.size, 0),
    estimatedBytes: 2 * weights + SESSION_OVERHEAD_BYTES,
    pooling: undefined,
    quantization: undefined,
    parameters: undefined,
    chatTemplate: undefined,
  };
}
