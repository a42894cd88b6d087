import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBytes } from '../../src/config/bytes.js';

describe('parseBytes', () => {
  test('a number is bytes', () => {
    assert.equal(parseBytes(1024), 1024);
    assert.equal(parseBytes(0), 0);
    assert.equal(parseBytes(1024.9), 1024);
  });

  test('a bare number string is bytes', () => {
    assert.equal(parseBytes('1024'), 1024);
    assert.equal(parseBytes('100b'), 100);
  });

  test('decimal units', () => {
    assert.equal(parseBytes('512MB'), 512e6);
    assert.equal(parseBytes('1.5g'), 1.5e9);
    assert.equal(parseBytes('2k'), 2000);
    assert.equal(parseBytes('3TB'), 3e12);
  });

  test('binary units', () => {
    assert.equal(parseBytes('8GiB'), 8 * 2 ** 30);
    assert.equal(parseBytes('1KiB'), 1024);
    assert.equal(parseBytes('256mib'), 256 * 2 ** 20);
    assert.equal(parseBytes('1TiB'), 2 ** 40);
  });

  test('surrounding and inner whitespace, any case', () => {
    assert.equal(parseBytes(' 10 kb '), 10_000);
    assert.equal(parseBytes('10KB'), 10_000);
    assert.equal(parseBytes('\t4 GiB\n'), 4 * 2 ** 30);
  });

  test('fractions of a byte are floored', () => {
    assert.equal(parseBytes('1.5'), 1);
    assert.equal(parseBytes('0.0015k'), 1);
  });

  for (const input of ['ten', '-5', '5XB', '', '   ', 'GB', '1.2.3MB', '5 G B', '1e9']) {
    test(`rejects ${JSON.stringify(input)}`, () => {
      assert.throws(() => parseBytes(input), /invalid size/);
    });
  }

  for (const input of [-5, Number.NaN, Number.POSITIVE_INFINITY]) {
    test(`rejects the number ${input}`, () => {
      assert.throws(() => parseBytes(input), /invalid size/);
    });
  }
});
