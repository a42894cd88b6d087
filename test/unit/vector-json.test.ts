import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_RESPONSE_CHARS, stringifyWithVectors } from '../../src/server/vector-json.js';

describe('stringifyWithVectors', () => {
  test('writes Float32Arrays exactly as JSON.stringify writes the same numbers', () => {
    let seed = 1;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
    const specials = [0, -0, 1, -1, 1e-7, -3.4e38, 3.4e38, 1.1754943508222875e-38, 1e-45, 0.1, 123456.789];
    const vectors = [Float32Array.from(specials), Float32Array.from({ length: 384 }, random), new Float32Array(0)];
    const body = { model: 'm', data: vectors.map((embedding, index) => ({ index, embedding })), usage: { total_tokens: 3 } };
    const expected = JSON.stringify({ ...body, data: vectors.map((v, index) => ({ index, embedding: Array.from(v) })) });
    assert.equal(stringifyWithVectors(body), expected);
  });

  test('a request string that looks like a marker stays a string', () => {
    const text = stringifyWithVectors({ model: 'x:0', embeddings: [new Float32Array([0.5])] });
    assert.deepEqual(JSON.parse(text), { model: 'x:0', embeddings: [[0.5]] });
  });

  test('without vectors it is JSON.stringify', () => {
    const value = { a: [1, 2], b: 'c', d: null };
    assert.equal(stringifyWithVectors(value), JSON.stringify(value));
  });

  test('a response that could not be built is refused before it is, with TOO_MANY_INPUTS', () => {
    const wide = new Float32Array(Math.ceil(MAX_RESPONSE_CHARS / 16) + 1);
    assert.throws(() => stringifyWithVectors({ data: [wide] }), (e: unknown) => (e as { code?: string }).code === 'TOO_MANY_INPUTS');
  });
});
