import { HearthError } from '../errors/index.js';

/**
 * Copies a raw embedding into a Float32Array, refusing NaN, infinities and
 * zero vectors (they poison a vector index silently), and L2-normalizes it
 * when asked.
 */
export function checkedVector(raw: ArrayLike<number>, normalize: boolean): Float32Array {
  // An indexed copy, not Float32Array.from: node-llama-cpp hands over a frozen array, which
  // falls off V8's fast path into the iterator protocol (6.8 µs against 2.9 µs for 384 floats).
  const vector = new Float32Array(raw.length);
  let sum = 0;
  for (let i = 0; i < raw.length; i++) {
    vector[i] = raw[i]!;
    const v = vector[i]!; // the float32 value, as the sum has always been taken
    if (!Number.isFinite(v)) throw new HearthError('INFERENCE_FAILED', 'the model produced a non-finite embedding value');
    sum += v * v;
  }
  const norm = Math.sqrt(sum);
  if (vector.length === 0 || norm === 0) throw new HearthError('INFERENCE_FAILED', 'the model produced a zero embedding vector');
  if (normalize) for (let i = 0; i < vector.length; i++) vector[i] = vector[i]! / norm;
  return vector;
}

export function l2norm(vector: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < vector.length; i++) sum += vector[i]! * vector[i]!;
  return Math.sqrt(sum);
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i]! * b[i]!;
  return dot / (l2norm(a) * l2norm(b));
}

/**
 * Shortens vectors to `dimensions` and re-normalizes them, as OpenAI's and
 * Ollama's `dimensions` do (meaningful for Matryoshka-trained models).
 */
export function truncateDimensions(vectors: Float32Array[], dimensions: number | undefined): Float32Array[] {
  if (dimensions === undefined) return vectors;
  const size = vectors[0]?.length ?? 0;
  if (dimensions > size) throw new HearthError('USAGE', `dimensions ${dimensions} exceeds this model's ${size}`, { details: { dimensions, size } });
  return vectors.map((v) => checkedVector(v.subarray(0, dimensions), true));
}
