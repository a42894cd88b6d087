import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  HearthError,
  errorCodes,
  isAbortError,
  isHearthError,
  throwIfAborted,
  toHearthError,
  type ErrorCode,
} from '../../src/errors/index.js';

const codes = Object.keys(errorCodes) as ErrorCode[];

describe('errorCodes', () => {
  test('the registry is not empty', () => {
    assert.ok(codes.length > 0);
  });

  for (const code of codes) {
    test(`${code} has an HTTP status 400-599, an exit code 1-255 and a title`, () => {
      const { status, exit, title } = errorCodes[code];
      assert.ok(Number.isInteger(status) && status >= 400 && status <= 599, `status ${status}`);
      assert.ok(Number.isInteger(exit) && exit >= 1 && exit <= 255, `exit ${exit}`);
      assert.ok(title.length > 0);
    });
  }

  test("OFFLINE_NOT_CACHED's exit code is used by no other code", () => {
    const exit = errorCodes.OFFLINE_NOT_CACHED.exit;
    assert.deepEqual(
      codes.filter((c) => errorCodes[c].exit === exit),
      ['OFFLINE_NOT_CACHED'],
    );
  });
});

describe('HearthError', () => {
  test('keeps code, message, cause, details and hint', () => {
    const cause = new Error('root cause');
    const error = new HearthError('IO_ERROR', 'could not write', { cause, details: { path: '/x' }, hint: 'check permissions' });
    assert.ok(error instanceof Error);
    assert.equal(error.name, 'HearthError');
    assert.equal(error.code, 'IO_ERROR');
    assert.equal(error.message, 'could not write');
    assert.equal(error.cause, cause);
    assert.deepEqual(error.details, { path: '/x' });
    assert.equal(error.hint, 'check permissions');
  });

  for (const code of codes) {
    test(`${code}: exitCode and httpStatus come from the registry`, () => {
      const error = new HearthError(code, 'x');
      assert.equal(error.exitCode, errorCodes[code].exit);
      assert.equal(error.httpStatus, errorCodes[code].status);
    });
  }

  test('without options: no own cause, empty details, no hint', () => {
    const error = new HearthError('INTERNAL', 'boom');
    assert.equal(Object.hasOwn(error, 'cause'), false);
    assert.deepEqual(error.details, {});
    assert.equal(error.hint, undefined);
  });

  test('a falsy cause is still kept', () => {
    assert.equal(new HearthError('INTERNAL', 'x', { cause: 0 }).cause, 0);
  });

  test('toJSON exposes code, message, hint and details but not the cause', () => {
    const error = new HearthError('MODEL_NOT_FOUND', 'nope', { cause: new Error('secret'), details: { ref: 'r' }, hint: 'pull it' });
    assert.deepEqual(JSON.parse(JSON.stringify(error)), { code: 'MODEL_NOT_FOUND', message: 'nope', hint: 'pull it', details: { ref: 'r' } });
  });
});

describe('isHearthError', () => {
  test('checks the type and, when given, the code', () => {
    const error = new HearthError('REF_UNSAFE', 'x');
    assert.equal(isHearthError(error), true);
    assert.equal(isHearthError(error, 'REF_UNSAFE'), true);
    assert.equal(isHearthError(error, 'REF_INVALID'), false);
    assert.equal(isHearthError(Object.assign(new Error('x'), { code: 'REF_UNSAFE' }), 'REF_UNSAFE'), false);
    assert.equal(isHearthError(undefined), false);
  });
});

describe('toHearthError', () => {
  test('returns a HearthError unchanged', () => {
    const error = new HearthError('USAGE', 'x');
    assert.equal(toHearthError(error), error);
  });

  for (const errno of ['ENOSPC', 'EDQUOT']) {
    test(`an ${errno} errno error becomes DISK_FULL with the cause kept`, () => {
      const cause = Object.assign(new Error(`${errno}: no space left on device, write`), { code: errno, errno: -28, syscall: 'write' });
      const error = toHearthError(cause);
      assert.equal(error.code, 'DISK_FULL');
      assert.equal(error.exitCode, errorCodes.DISK_FULL.exit);
      assert.equal(error.cause, cause);
    });
  }

  test('another errno error becomes IO_ERROR with its message', () => {
    const cause = Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' });
    const error = toHearthError(cause);
    assert.equal(error.code, 'IO_ERROR');
    assert.equal(error.message, 'ENOENT: no such file');
    assert.equal(error.cause, cause);
  });

  test('an AbortError becomes ABORTED, in all its spellings', () => {
    const domAbort = new DOMException('The operation was aborted', 'AbortError');
    const named = Object.assign(new Error('aborted'), { name: 'AbortError' });
    const byCode = Object.assign(new Error('aborted'), { code: 'ABORT_ERR' });
    const signalReason = AbortSignal.abort().reason as unknown;
    for (const cause of [domAbort, named, byCode, signalReason]) {
      const error = toHearthError(cause);
      assert.equal(error.code, 'ABORTED', String(cause));
      assert.equal(error.cause, cause);
    }
  });

  test('an unknown Error becomes INTERNAL with message and cause kept', () => {
    const cause = new TypeError('undefined is not a function');
    const error = toHearthError(cause);
    assert.equal(error.code, 'INTERNAL');
    assert.equal(error.message, 'undefined is not a function');
    assert.equal(error.cause, cause);
  });

  test('a non-Error value becomes INTERNAL', () => {
    const error = toHearthError('just a string');
    assert.equal(error.code, 'INTERNAL');
    assert.equal(error.message, 'just a string');
    assert.equal(error.cause, 'just a string');
    assert.equal(toHearthError(undefined).code, 'INTERNAL');
  });
});

describe('isAbortError / throwIfAborted', () => {
  test('isAbortError is false for ordinary errors and non-errors', () => {
    assert.equal(isAbortError(new Error('x')), false);
    assert.equal(isAbortError({ name: 'AbortError' }), false);
    assert.equal(isAbortError(new DOMException('x', 'AbortError')), true);
  });

  test('throwIfAborted throws ABORTED carrying the reason only once the signal fires', () => {
    const controller = new AbortController();
    throwIfAborted(undefined);
    throwIfAborted(controller.signal);
    const reason = new Error('client went away');
    controller.abort(reason);
    assert.throws(
      () => throwIfAborted(controller.signal),
      (error: unknown) => isHearthError(error, 'ABORTED') && error.cause === reason,
    );
  });
});
