import type { ProbeAgreement } from './compare.js';
import type { SpaceModel, SpaceRuntime } from './space-record.js';

export type Verdict = 'identical' | 'compatible' | 'incompatible';

/**
 * The tolerance contract: how close re-embedded probes must come to a
 * space's stored ones. The figures behind each bound are in BENCHMARKS.md
 * ("Embedding spaces"); the README states the contract in a user's words.
 *
 * - identical: no coordinate of any probe moved by more than 1e-6, i.e. the
 *   same vectors up to float32 rounding (the same runtime gives exactly 0).
 * - compatible: the worst probe's cosine is at least 0.9995 and Kendall's
 *   tau of the probe-to-probe similarity order at least 0.99: what another
 *   instruction set does by summing in another order (measured across six
 *   ggml variants on the MiniLM-shaped bert: coordinates moved by up to
 *   6.7e-5, cosines ≥ 0.99999993, tau ≥ 0.9999), under which stored vectors
 *   still rank the same.
 * - incompatible: anything else, or a different model fingerprint, whatever
 *   the numbers say. Quantization (F16 against F32, int8 against fp32) and
 *   pooling changes land here on their fingerprint; int8 against fp32 also
 *   falls outside the bounds on its numbers (measured: tau 0.985).
 */
export const TOLERANCE = Object.freeze({
  identicalMaxAbsDiff: 1e-6,
  compatibleMinCosine: 0.9995,
  compatibleRankTau: 0.99,
});

export interface FieldDiff {
  field: string;
  space: unknown;
  current: unknown;
}

export interface Judgement {
  verdict: Verdict;
  /** Why, in a sentence each, for people and logs. */
  reasons: string[];
}

export function judge(input: { modelDiff: FieldDiff[]; agreement: ProbeAgreement | undefined }): Judgement {
  const reasons: string[] = [];
  if (input.modelDiff.length > 0) {
    reasons.push(`the model differs (${input.modelDiff.map((d) => d.field).join(', ')}): its vectors are not comparable with the space's`);
  }
  const a = input.agreement;
  if (a === undefined) return { verdict: 'incompatible', reasons };
  if (reasons.length > 0) return { verdict: 'incompatible', reasons: [...reasons, agreementLine(a)] };
  if (a.maxAbsDiff <= TOLERANCE.identicalMaxAbsDiff) return { verdict: 'identical', reasons: [agreementLine(a)] };
  if (a.min >= TOLERANCE.compatibleMinCosine && a.rankTau >= TOLERANCE.compatibleRankTau) {
    return { verdict: 'compatible', reasons: [`the numbers differ slightly but rank the same: ${agreementLine(a)}`] };
  }
  const broken: string[] = [];
  if (a.min < TOLERANCE.compatibleMinCosine) broken.push(`min cosine ${fmt(a.min)} < ${TOLERANCE.compatibleMinCosine}`);
  if (a.rankTau < TOLERANCE.compatibleRankTau) broken.push(`rank tau ${fmt(a.rankTau)} < ${TOLERANCE.compatibleRankTau}`);
  return { verdict: 'incompatible', reasons: [`the probes moved beyond the contract: ${broken.join('; ')}`] };
}

function agreementLine(a: ProbeAgreement): string {
  return `probe cosines min ${fmt(a.min)}, p5 ${fmt(a.p5)}, mean ${fmt(a.mean)}; max coordinate difference ${a.maxAbsDiff.toExponential(1)}; rank tau ${fmt(a.rankTau)}`;
}

function fmt(n: number): string {
  return n >= 0.9999 && n < 1 ? n.toFixed(7) : n.toFixed(4);
}

/** Field-by-field differences between two records of the same shape, named "model.x" / "runtime.x". */
export function diffFields(prefix: 'model' | 'runtime', space: SpaceModel | SpaceRuntime, current: SpaceModel | SpaceRuntime, ignore: readonly string[] = []): FieldDiff[] {
  const diffs: FieldDiff[] = [];
  const a = space as unknown as Record<string, unknown>;
  const b = current as unknown as Record<string, unknown>;
  for (const key of Object.keys(a)) {
    if (ignore.includes(key)) continue;
    if (JSON.stringify(a[key]) !== JSON.stringify(b[key])) diffs.push({ field: `${prefix}.${key}`, space: a[key], current: b[key] });
  }
  return diffs;
}
