import assert from 'node:assert/strict';
import { test } from 'node:test';
import { paddingWaste, planBatches } from '../../src/runtime/onnx/batch-plan.js';

test('batches are length-sorted, within the padded-token budget and the row limit, and cover every index once', () => {
  const lengths = [30, 5, 12, 31, 6, 29, 11, 7, 40, 8];
  const batches = planBatches(lengths, { maxTokens: 64, maxRows: 3 });
  assert.deepEqual(batches.flat().sort((a, b) => a - b), lengths.map((_, i) => i));
  for (const batch of batches) {
    const longest = Math.max(...batch.map((i) => lengths[i]!));
    assert.ok(batch.length <= 3);
    assert.ok(batch.length * longest <= 64 || batch.length === 1, `batch ${batch} pads to ${batch.length * longest}`);
  }
  const flat = batches.flat().map((i) => lengths[i]!);
  assert.deepEqual(flat, [...flat].sort((a, b) => a - b), 'shortest first');
});

test('a row longer than the budget still runs, alone', () => {
  assert.deepEqual(planBatches([300, 4, 5], { maxTokens: 64, maxRows: 8 }), [[1, 2], [0]]);
});

test('sorting keeps padding waste small on mixed lengths', () => {
  const lengths = Array.from({ length: 64 }, (_, i) => 8 + ((i * 37) % 57));
  const sorted = planBatches(lengths, { maxTokens: 512, maxRows: 16 });
  const arrival = Array.from({ length: 4 }, (_, b) => Array.from({ length: 16 }, (_, i) => b * 16 + i));
  assert.ok(paddingWaste(lengths, sorted) < 0.15, `sorted waste ${paddingWaste(lengths, sorted)}`);
  assert.ok(paddingWaste(lengths, arrival) > 0.3, `arrival-order waste ${paddingWaste(lengths, arrival)}`);
});
