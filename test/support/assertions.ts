import assert from 'node:assert/strict';
import { isHearthError, type ErrorCode, type HearthError } from '../../src/errors/index.js';

/** Asserts that `fn` throws a HearthError with `code`, and returns it for further checks. */
export function throwsCode(fn: () => unknown, code: ErrorCode): HearthError {
  let caught: unknown;
  assert.throws(fn, (error: unknown) => {
    caught = error;
    assert.ok(isHearthError(error, code), `expected HearthError ${code}, got ${String((error as { code?: unknown }).code)}: ${String(error)}`);
    return true;
  });
  return caught as HearthError;
}
