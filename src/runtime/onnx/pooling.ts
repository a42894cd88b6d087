import type { Pooling } from '../types.js';

/** The poolings an ONNX encoder's token states can be reduced with (sentence-transformers' modes). */
export type TokenPooling = Extract<Pooling, 'mean' | 'cls' | 'last'>;

/**
 * Reduces right-padded token states [batch, seqLen, hidden] to one vector per
 * row, looking only at each row's first `lengths[row]` tokens, so padding
 * never leaks into a vector (batched and single runs agree).
 */
export function poolTokens(states: Float32Array, lengths: readonly number[], seqLen: number, hidden: number, pooling: TokenPooling): Float32Array {
  const out = new Float32Array(lengths.length * hidden);
  for (let row = 0; row < lengths.length; row++) {
    const length = lengths[row]!;
    const base = row * seqLen * hidden;
    const target = out.subarray(row * hidden, (row + 1) * hidden);
    if (pooling === 'cls') {
      target.set(states.subarray(base, base + hidden));
    } else if (pooling === 'last') {
      const at = base + (length - 1) * hidden;
      target.set(states.subarray(at, at + hidden));
    } else {
      for (let t = 0; t < length; t++) {
        const at = base + t * hidden;
        for (let h = 0; h < hidden; h++) target[h]! += states[at + h]!;
      }
      for (let h = 0; h < hidden; h++) target[h]! /= length;
    }
  }
  return out;
}
