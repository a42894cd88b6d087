import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checkedVector, cosine, l2norm } from '../../src/runtime/vector.js';
import { throwsCode } from '../support/assertions.js';

function assertClose(actual: number, expected: number, tolerance: number, message?: string): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, message ?? `expected ${expected} ± ${tolerance}, got ${actual}`);
}

describe('checkedVector', () => {
  test('normalizes to unit norm and keeps the direction', () => {
    const raw = [3, 4, 0, -12];
    const vector = checkedVector(raw, true);
    assert.ok(vector instanceof Float32Array);
    assert.equal(vector.length, raw.length);
    assertClose(l2norm(vector), 1, 1e-6);
    // |raw| = 13, so each component is raw[i] / 13 (to float32 precision).
    raw.forEach((v, i) => assertClose(vector[i]!, v / 13, 1e-7));
  });

  test('an already unit vector stays (nearly) the same when normalized', () => {
    const vector = checkedVector([0, 1, 0], true);
    assert.deepEqual([...vector], [0, 1, 0]);
  });

  test('without normalize it returns an exact Float32Array copy', () => {
    const raw = [0.5, -2, 3, 0.25];
    const vector = checkedVector(raw, false);
    assert.ok(vector instanceof Float32Array);
    assert.deepEqual([...vector], raw);
    assertClose(l2norm(vector), Math.sqrt(0.25 + 4 + 9 + 0.0625), 1e-12);
  });

  test('without normalize the copy is independent of a Float32Array input', () => {
    const raw = Float32Array.from([1, 2, 3]);
    const vector = checkedVector(raw, false);
    assert.notEqual(vector, raw);
    assert.deepEqual(vector, raw);
    vector[0] = 99;
    assert.equal(raw[0], 1);
  });

  test('normalizing does not mutate the input', () => {
    const raw = Float32Array.from([3, 4]);
    checkedVector(raw, true);
    assert.deepEqual([...raw], [3, 4]);
  });

  test('non-integer values are rounded to float32, as a copy would be', () => {
    const raw = [0.1, 0.2, 0.3];
    assert.deepEqual(checkedVector(raw, false), Float32Array.from(raw));
  });

  for (const [name, raw] of [
    ['NaN', [1, Number.NaN, 2]],
    ['Infinity', [1, Number.POSITIVE_INFINITY]],
    ['-Infinity', [Number.NEGATIVE_INFINITY, 0]],
    ['a value beyond float32 range', [1e39, 1]],
    ['an all-zero vector', [0, 0, 0]],
    ['an empty vector', []],
  ] as const) {
    for (const normalize of [true, false]) {
      test(`rejects ${name} (normalize=${normalize}) with INFERENCE_FAILED`, () => {
        throwsCode(() => checkedVector(raw, normalize), 'INFERENCE_FAILED');
      });
    }
  }
});

describe('cosine', () => {
  test('of a vector with itself is 1', () => {
    const v = [0.3, -1.7, 2.2, 5];
    assertClose(cosine(v, v), 1, 1e-9);
  });

  test('is scale-invariant', () => {
    assertClose(cosine([1, 2, 3], [10, 20, 30]), 1, 1e-9);
  });

  test('of orthogonal vectors is 0', () => {
    assertClose(cosine([1, 0, 0], [0, 5, 0]), 0, 1e-12);
    assertClose(cosine([1, 1], [1, -1]), 0, 1e-12);
  });

  test('of opposite vectors is -1', () => {
    assertClose(cosine([1, -2, 3], [-2, 4, -6]), -1, 1e-9);
  });

  test('of a 45° pair is √2/2', () => {
    assertClose(cosine([1, 0], [1, 1]), Math.SQRT1_2, 1e-12);
  });

  test('works on Float32Array inputs', () => {
    const v = checkedVector([2, 7, 1], true);
    assertClose(cosine(v, v), 1, 1e-6);
  });
});

describe('l2norm', () => {
  test('computes the Euclidean length', () => {
    assert.equal(l2norm([3, 4]), 5);
    assert.equal(l2norm([-3, -4]), 5);
    assert.equal(l2norm([1, 2, 2]), 3);
    assert.equal(l2norm([0, 0]), 0);
    assert.equal(l2norm([]), 0);
    assertClose(l2norm([1, 1, 1, 1]), 2, 1e-12);
  });
});
