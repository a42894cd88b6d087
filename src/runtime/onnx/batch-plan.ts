export interface BatchLimits {
  /** Padded tokens (rows × longest row) one run may take; a single longer row still runs alone. */
  maxTokens: number;
  maxRows: number;
}

/**
 * Splits sequences into padded batches: sorted by length so rows of a batch
 * are alike and padding stays small, each batch within the token budget.
 * Returns indices into `lengths`, shortest batches first.
 */
export function planBatches(lengths: readonly number[], limits: BatchLimits): number[][] {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a]! - lengths[b]! || a - b);
  const batches: number[][] = [];
  let current: number[] = [];
  for (const index of order) {
    // Sorted ascending, so this row is the longest of the batch once added.
    const rows = current.length + 1;
    if (current.length > 0 && (rows > limits.maxRows || rows * lengths[index]! > limits.maxTokens)) {
      batches.push(current);
      current = [];
    }
    current.push(index);
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** Fraction of a plan's computed tokens that are padding (0 = none). */
export function paddingWaste(lengths: readonly number[], batches: readonly number[][]): number {
  let real = 0;
  let padded = 0;
  for (const batch of batches) {
    const longest = Math.max(...batch.map((i) => lengths[i]!));
    padded += longest * batch.length;
    for (const i of batch) real += lengths[i]!;
  }
  return padded === 0 ? 0 : 1 - real / padded;
}
