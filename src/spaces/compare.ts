import { cosine } from '../runtime/vector.js';

/** How two sets of probe vectors agree: per probe, and in the order they put the probes in. */
export interface ProbeAgreement {
  /** Cosine of each probe's stored vector with the one computed now, in probe order. */
  cosines: number[];
  min: number;
  mean: number;
  /** 5th percentile (nearest rank): a few outliers show here before they move the mean. */
  p5: number;
  /** Largest absolute difference in any coordinate of any probe. */
  maxAbsDiff: number;
  /**
   * Kendall's tau-b between the probe-to-probe cosine similarities of the two
   * sets: 1 when every pair of probe pairs is ordered the same way, which is
   * what nearest-neighbour search depends on.
   */
  rankTau: number;
  /** Mean overlap of each probe's 5 nearest probes under the two sets (1 = the same neighbours). */
  top5Overlap: number;
}

/** Compares stored probe vectors with freshly computed ones; both lists in probe order, of equal dimensions. */
export function compareProbes(stored: readonly Float32Array[], current: readonly Float32Array[]): ProbeAgreement {
  const cosines = stored.map((v, i) => cosine(v, current[i]!));
  let maxAbsDiff = 0;
  for (let i = 0; i < stored.length; i++) {
    const a = stored[i]!;
    const b = current[i]!;
    for (let j = 0; j < a.length; j++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a[j]! - b[j]!));
  }
  const sorted = [...cosines].sort((a, b) => a - b);
  const simA = similarities(stored);
  const simB = similarities(current);
  return {
    cosines,
    min: sorted[0]!,
    mean: cosines.reduce((s, c) => s + c, 0) / cosines.length,
    p5: sorted[Math.max(0, Math.ceil(0.05 * sorted.length) - 1)]!,
    maxAbsDiff,
    rankTau: kendallTauB(simA.flat, simB.flat),
    top5Overlap: topKOverlap(simA.matrix, simB.matrix, 5),
  };
}

interface Similarities {
  /** Upper triangle, row by row. */
  flat: number[];
  matrix: number[][];
}

function similarities(vectors: readonly Float32Array[]): Similarities {
  const n = vectors.length;
  const matrix = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  const flat: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const s = cosine(vectors[i]!, vectors[j]!);
      matrix[i]![j] = s;
      matrix[j]![i] = s;
      flat.push(s);
    }
  }
  return { flat, matrix };
}

/**
 * Kendall's tau-b, by direct count over all pairs: with 48 probes that is
 * 1,128 similarities and about 640k comparisons, a few milliseconds, so the
 * O(n log n) algorithm (and a statistics dependency for one function) would buy nothing.
 */
export function kendallTauB(x: readonly number[], y: readonly number[]): number {
  let concordant = 0;
  let discordant = 0;
  let tiesX = 0;
  let tiesY = 0;
  for (let i = 0; i < x.length; i++) {
    for (let j = i + 1; j < x.length; j++) {
      const dx = Math.sign(x[i]! - x[j]!);
      const dy = Math.sign(y[i]! - y[j]!);
      if (dx === 0 && dy === 0) continue;
      if (dx === 0) tiesX++;
      else if (dy === 0) tiesY++;
      else if (dx === dy) concordant++;
      else discordant++;
    }
  }
  const denominator = Math.sqrt((concordant + discordant + tiesX) * (concordant + discordant + tiesY));
  return denominator === 0 ? 1 : (concordant - discordant) / denominator;
}

function topKOverlap(a: number[][], b: number[][], k: number): number {
  const nearest = (row: number[], self: number) =>
    new Set(
      row
        .map((s, j) => [s, j] as const)
        .filter(([, j]) => j !== self)
        .sort((p, q) => q[0] - p[0] || p[1] - q[1])
        .slice(0, k)
        .map(([, j]) => j),
    );
  let total = 0;
  for (let i = 0; i < a.length; i++) {
    const na = nearest(a[i]!, i);
    const nb = nearest(b[i]!, i);
    let shared = 0;
    for (const j of na) if (nb.has(j)) shared++;
    total += shared / Math.min(k, na.size || 1);
  }
  return a.length === 0 ? 1 : total / a.length;
}
