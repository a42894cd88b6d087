import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compareProbes, kendallTauB, TOLERANCE } from '../../src/spaces/index.js';
import { judge } from '../../src/spaces/contract.js';

/** Deterministic unit-ish vectors: probe i points mostly along axis i. */
function probes(n: number, dims: number, jitter = 0): Float32Array[] {
  return Array.from({ length: n }, (_, i) =>
    Float32Array.from({ length: dims }, (_, j) => (j === i % dims ? 1 : 0.1 * Math.sin(i * 7 + j * 3)) + jitter * Math.cos(i * 13 + j * 5)),
  );
}

describe('probe agreement', () => {
  test("Kendall's tau-b: 1 for the same order, -1 for the reverse, the textbook value with ties", () => {
    assert.equal(kendallTauB([1, 2, 3, 4], [10, 20, 30, 40]), 1);
    assert.equal(kendallTauB([1, 2, 3, 4], [4, 3, 2, 1]), -1);
    // One swapped pair out of six: (5 − 1) / 6.
    assert.equal(kendallTauB([1, 2, 3, 4], [1, 3, 2, 4]), 4 / 6);
    // x has one tie: concordant 5, discordant 0, ties in x 1 → 5 / sqrt(5 × 6).
    assert.equal(kendallTauB([1, 1, 2, 3], [1, 2, 3, 4]), 5 / Math.sqrt(30));
  });

  test('the same vectors agree exactly; a small perturbation lowers the cosines but keeps the ranks', () => {
    const a = probes(12, 16);
    const same = compareProbes(a, a.map((v) => Float32Array.from(v)));
    assert.ok(same.min >= 1 - 1e-7, String(same.min));
    assert.equal(same.maxAbsDiff, 0);
    assert.equal(same.rankTau, 1);
    assert.equal(same.top5Overlap, 1);

    const moved = compareProbes(a, probes(12, 16, 1e-4));
    assert.ok(moved.min < 1 && moved.min > 0.9999, String(moved.min));
    assert.ok(moved.p5 >= moved.min && moved.mean >= moved.p5);
    assert.ok(moved.rankTau > 0.99, String(moved.rankTau));
  });

  test('the contract: identical, compatible and incompatible at its bounds; a model difference is incompatible whatever the numbers', () => {
    const agreement = (min: number, rankTau: number, maxAbsDiff = 1e-5) => ({ cosines: [min], min, mean: min, p5: min, maxAbsDiff, rankTau, top5Overlap: 1 });
    assert.equal(judge({ modelDiff: [], agreement: agreement(1, 1, 0) }).verdict, 'identical');
    assert.equal(judge({ modelDiff: [], agreement: agreement(1, 1, TOLERANCE.identicalMaxAbsDiff) }).verdict, 'identical');
    assert.equal(judge({ modelDiff: [], agreement: agreement(0.9999999, 0.99998, 1.6e-5) }).verdict, 'compatible');
    assert.equal(judge({ modelDiff: [], agreement: agreement(TOLERANCE.compatibleMinCosine, TOLERANCE.compatibleRankTau) }).verdict, 'compatible');
    assert.equal(judge({ modelDiff: [], agreement: agreement(0.9994, 1) }).verdict, 'incompatible');
    assert.equal(judge({ modelDiff: [], agreement: agreement(0.9999, 0.98) }).verdict, 'incompatible');
    const diff = [{ field: 'model.pooling', space: 'mean', current: 'cls' }];
    const j = judge({ modelDiff: diff, agreement: agreement(1, 1) });
    assert.equal(j.verdict, 'incompatible');
    assert.match(j.reasons[0]!, /model\.pooling/);
    assert.equal(judge({ modelDiff: diff, agreement: undefined }).verdict, 'incompatible');
  });
});
