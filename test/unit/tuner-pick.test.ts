import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pick } from '../../src/pool/tuner.js';

describe('tuner pick', () => {
  test('a clear winner wins, whatever its threads', () => {
    assert.deepEqual(pick([{ threads: 1, parallel: 1, rate: 100 }, { threads: 2, parallel: 1, rate: 180 }]), { threads: 2, parallel: 1, rate: 180 });
  });

  test('within 10% of the fastest, fewer threads per context win', () => {
    const measured = [
      { threads: 1, parallel: 1, rate: 90 },
      { threads: 1, parallel: 2, rate: 170 },
      { threads: 2, parallel: 1, rate: 180 },
      { threads: 2, parallel: 2, rate: 120 },
    ];
    assert.deepEqual(pick(measured), { threads: 1, parallel: 2, rate: 170 });
  });

  test('among tied candidates with the same threads, the faster wins', () => {
    assert.deepEqual(pick([{ threads: 1, parallel: 1, rate: 95 }, { threads: 1, parallel: 2, rate: 100 }, { threads: 2, parallel: 1, rate: 99 }]), { threads: 1, parallel: 2, rate: 100 });
  });
});
