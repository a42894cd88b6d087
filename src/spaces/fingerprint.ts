import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { SpaceModel, SpaceRuntime } from './space-record.js';

/**
 * Fingerprints are sha256 of RFC 8785 canonical JSON, so that any
 * implementation that reads a space file can recompute them, whatever order
 * its JSON writer puts keys in.
 */
function digestOf(value: unknown): string {
  return createHash('sha256').update(canonicalize(value)!).digest('hex');
}

export function modelFingerprint(model: SpaceModel): string {
  const { ref: _where, ...content } = model;
  return digestOf({ kind: 'hearth-space-model/1', ...content, files: [...content.files].sort() });
}

export function runtimeFingerprint(runtime: SpaceRuntime): string {
  return digestOf({ kind: 'hearth-space-runtime/1', ...runtime });
}

export function probesFingerprint(probeSet: { id: string; digest: string }, vectors: readonly Float32Array[]): string {
  const hash = createHash('sha256').update(`${probeSet.id}\n${probeSet.digest}\n`);
  for (const vector of vectors) hash.update(encodeVectorBytes(vector));
  return hash.digest('hex');
}

/** Little-endian float32 bytes, whatever the host's byte order. */
export function encodeVectorBytes(vector: Float32Array): Buffer {
  const bytes = Buffer.alloc(vector.length * 4);
  for (let i = 0; i < vector.length; i++) bytes.writeFloatLE(vector[i]!, i * 4);
  return bytes;
}

export function decodeVectorBytes(bytes: Buffer): Float32Array {
  const vector = new Float32Array(bytes.length / 4);
  for (let i = 0; i < vector.length; i++) vector[i] = bytes.readFloatLE(i * 4);
  return vector;
}
