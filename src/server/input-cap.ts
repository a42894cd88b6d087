import { HearthError } from '../errors/index.js';

/**
 * Refuses a request with more inputs than the server embeds at once, before
 * any of them is validated or tokenized: one body of a million short
 * strings once took 68 s of work and 2 GB before it failed.
 */
export function assertInputCount(input: unknown, limit: number, field = 'input'): void {
  // An array of numbers is one input (token ids), not many.
  if (!Array.isArray(input) || input.length <= limit || typeof input[0] === 'number') return;
  throw new HearthError('TOO_MANY_INPUTS', `invalid request: ${field}: ${input.length} inputs, and this server embeds at most ${limit} per request`, {
    details: { field, count: input.length, limit },
    hint: 'split the inputs over several requests, or raise HEARTH_MAX_INPUTS on the server',
  });
}
