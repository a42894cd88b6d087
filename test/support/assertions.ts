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

/** Cosine similarity, written here rather than imported, so tests do not check the runtime's maths with itself. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'vectors of different lengths');
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return dot / Math.sqrt(na * nb);
}

/** The same vector up to float noise: cosine ≥ `min` (0.99999, the batched-equals-unbatched bar). */
export function assertSame(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, min = 0.99999): void {
  const c = cosine(actual, expected);
  assert.ok(c >= min, `${what}: cosine ${c}`);
}

/**
 * Runs `fn` and asserts that it made Node emit no MaxListenersExceededWarning:
 * listeners piled on one AbortSignal by concurrent work (the leak a busy server showed).
 */
export async function withoutListenerPileUp<T>(fn: () => Promise<T>): Promise<T> {
  const warnings: string[] = [];
  const onWarning = (warning: Error) => {
    if (warning.name === 'MaxListenersExceededWarning') warnings.push(warning.message);
  };
  process.on('warning', onWarning);
  try {
    const result = await fn();
    // Warnings are emitted on a later tick than the listener that crossed the line.
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(warnings, []);
    return result;
  } finally {
    process.off('warning', onWarning);
  }
}
