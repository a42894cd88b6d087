import { HearthError } from '../errors/index.js';

/**
 * The input checks every embedding backend applies, so a client gets the same
 * errors whichever engine serves the model.
 */

/** Empty input is refused rather than embedded as garbage. */
export function assertNotEmpty(input: { length: number }, index: number): void {
  if (input.length === 0) throw new HearthError('USAGE', `input ${index} is empty`);
}

/** Token-array input must stay inside the vocabulary (llama.cpp aborts the process otherwise; ONNX gathers garbage). */
export function checkTokenIds(input: readonly number[], index: number, vocabulary: number): number[] {
  for (const id of input) {
    if (!Number.isInteger(id) || id < 0 || id >= vocabulary) {
      throw new HearthError('USAGE', `input ${index} has token id ${id}, outside this model's vocabulary of ${vocabulary}`, { details: { index, id } });
    }
  }
  return [...input];
}

/** Over-long input is an error unless the caller asked for truncation. */
export function inputTooLong(index: number, tokens: number, limit: number): HearthError {
  return new HearthError('INPUT_TOO_LONG', `input ${index} is ${tokens} tokens; this model's context takes at most ${limit}`, {
    details: { index, tokens, limit },
    hint: 'shorten the input, or ask for truncation (truncate: true)',
  });
}
