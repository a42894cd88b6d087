import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveKeepAlive, type KeepAlivePolicy } from '../../src/pool/keep-alive.js';
import { throwsCode } from '../support/assertions.js';

const DEFAULT_MS = 300_000;
const HOUR = 3_600_000;
const unbounded: KeepAlivePolicy = { defaultMs: DEFAULT_MS, maxMs: undefined };
const capped: KeepAlivePolicy = { defaultMs: DEFAULT_MS, maxMs: HOUR };

describe('resolveKeepAlive without a ceiling', () => {
  for (const requested of [undefined, null, ''] as const) {
    test(`${JSON.stringify(requested) ?? 'undefined'} falls back to the default`, () => {
      assert.equal(resolveKeepAlive(requested, unbounded), DEFAULT_MS);
    });
  }

  test('the default is the policy value, not a constant', () => {
    assert.equal(resolveKeepAlive(undefined, { defaultMs: 1234, maxMs: undefined }), 1234);
  });

  test('a duration string is parsed', () => {
    assert.equal(resolveKeepAlive('10m', unbounded), 600_000);
    assert.equal(resolveKeepAlive('1h30m', unbounded), 5_400_000);
  });

  test('a number is seconds (Ollama semantics)', () => {
    assert.equal(resolveKeepAlive(30, unbounded), 30_000);
    assert.equal(resolveKeepAlive(1.5, unbounded), 1_500);
  });

  test('0 and "0" mean unload now, not the default', () => {
    assert.equal(resolveKeepAlive(0, unbounded), 0);
    assert.equal(resolveKeepAlive('0', unbounded), 0);
  });

  test('negative values mean for ever and stay negative', () => {
    assert.ok(resolveKeepAlive(-1, unbounded) < 0);
    assert.ok(resolveKeepAlive('-1', unbounded) < 0);
    assert.ok(resolveKeepAlive('-1m', unbounded) < 0);
  });

  test('an invalid value is a USAGE error naming the value', () => {
    const error = throwsCode(() => resolveKeepAlive('soon', unbounded), 'USAGE');
    assert.match(error.message, /soon/);
    throwsCode(() => resolveKeepAlive('5 minutes', unbounded), 'USAGE');
    throwsCode(() => resolveKeepAlive(Number.NaN, unbounded), 'USAGE');
  });
});

describe('resolveKeepAlive with maxMs = 1h', () => {
  test('a longer request is clamped to the ceiling', () => {
    assert.equal(resolveKeepAlive('2h', capped), HOUR);
    assert.equal(resolveKeepAlive(7200, capped), HOUR);
  });

  test('"for ever" is clamped to the ceiling', () => {
    assert.equal(resolveKeepAlive(-1, capped), HOUR);
    assert.equal(resolveKeepAlive('-1m', capped), HOUR);
  });

  test('a request within the ceiling is unchanged', () => {
    assert.equal(resolveKeepAlive('10m', capped), 600_000);
    assert.equal(resolveKeepAlive('1h', capped), HOUR);
  });

  test('0 (unload now) is unchanged', () => {
    assert.equal(resolveKeepAlive(0, capped), 0);
    assert.equal(resolveKeepAlive('0', capped), 0);
  });

  test('a default above the ceiling is clamped too', () => {
    assert.equal(resolveKeepAlive(undefined, { defaultMs: 2 * HOUR, maxMs: HOUR }), HOUR);
    assert.equal(resolveKeepAlive(undefined, { defaultMs: -1, maxMs: HOUR }), HOUR);
  });

  test('an invalid value is still a USAGE error', () => {
    throwsCode(() => resolveKeepAlive('soon', capped), 'USAGE');
  });
});
