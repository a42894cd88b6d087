import { basename } from 'node:path';
import type { LoadedModel } from '../runtime/types.js';
import { sha256File, type ResolvedModel, type StoredFile } from '../store/index.js';
import type { SpaceModel, SpaceRuntime } from './space-record.js';

const SHA256 = /^[0-9a-f]{64}$/;

/**
 * sha256 of each file, whatever digest the store knows it by: LFS files and
 * local files are sha256 already, but small git files are named by their git
 * sha1, which another copy of the same bytes (a local folder) would not share.
 * Those are small (configs, tokenizers), so hashing them again is cheap; the
 * result is kept per file and digest for the life of the process.
 */
const rehashed = new Map<string, Promise<string>>();

async function sha256Of(file: StoredFile, signal?: AbortSignal): Promise<string> {
  if (file.digest !== undefined && SHA256.test(file.digest)) return file.digest;
  const key = `${file.localPath}\0${file.digest ?? ''}\0${file.size}`;
  let pending = rehashed.get(key);
  if (!pending) {
    pending = sha256File(file.localPath, { signal }).then((d) => d.digest);
    rehashed.set(key, pending);
    pending.catch(() => rehashed.delete(key));
  }
  return pending;
}

/** The model facts a space fingerprints, for a model as loaded now; `dimensions` comes from its output. */
export async function modelFacts(resolved: ResolvedModel, model: LoadedModel, dimensions: number, signal?: AbortSignal): Promise<SpaceModel> {
  const digests = await Promise.all(resolved.files.map(async (f) => ({ file: f, sha256: await sha256Of(f, signal) })));
  const tokenizer = digests.find((d) => basename(d.file.path) === 'tokenizer.json' && d.file !== resolved.primary);
  const identity = model.identity;
  return {
    ref: resolved.ref,
    format: model.info.format,
    architecture: model.info.architecture,
    quantization: model.info.quantization ?? null,
    // The weights are the file the runtime names as the vectors' source: the primary file of a GGUF or an
    // ONNX model, a checkpoint beside the recipe of a SpeechBrain repo.
    weights: (digests.find((d) => d.file.digest !== undefined && d.file.digest === identity.digest) ?? digests.find((d) => d.file === resolved.primary)!).sha256,
    tokenizer: model.info.format === 'gguf' ? null : (tokenizer?.sha256 ?? null),
    files: digests.map((d) => d.sha256).sort(),
    pooling: identity.pooling ?? null,
    normalize: identity.normalize ?? true,
    dimensions,
    maxTokens: identity.contextSize,
  };
}

/** The runtime facts: what computes the numbers, not how fast (threads and parallelism are left out). */
export function runtimeFacts(model: LoadedModel): SpaceRuntime {
  const { engine, engineVersion, binding, device, cpuVariant } = model.identity;
  return { engine, engineVersion, binding, device, cpuVariant: cpuVariant ?? null };
}
