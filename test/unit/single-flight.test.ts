import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isHearthError } from '../../src/errors/index.js';
import { SingleFlight } from '../../src/lifecycle/single-flight.js';

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A work function whose invocations are recorded and which settles only when told to. */
function controllableWork<T>() {
  const calls: Array<{ signal: AbortSignal; result: Deferred<T> }> = [];
  const work = (signal: AbortSignal): Promise<T> => {
    const result = deferred<T>();
    calls.push({ signal, result });
    return result.promise;
  };
  return { work, calls };
}

/** Lets pending promise callbacks run. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('SingleFlight', () => {
  test('20 concurrent runs for one key invoke the work once and all get its value', async () => {
    const flights = new SingleFlight<string, { id: number }>();
    const { work, calls } = controllableWork<{ id: number }>();
    const waits = Array.from({ length: 20 }, () => flights.run('k', work));
    assert.equal(calls.length, 1);
    assert.equal(flights.size, 1);
    const value = { id: 42 };
    calls[0]!.result.resolve(value);
    const results = await Promise.all(waits);
    assert.equal(results.length, 20);
    for (const result of results) assert.equal(result, value);
    assert.equal(calls.length, 1);
    assert.equal(flights.size, 0);
  });

  test('different keys run separately', async () => {
    const flights = new SingleFlight<string, string>();
    const seen: string[] = [];
    const [a, b, a2] = await Promise.all([
      flights.run('a', async () => (seen.push('a'), 'value-a')),
      flights.run('b', async () => (seen.push('b'), 'value-b')),
      flights.run('a', async () => (seen.push('a-again'), 'value-a-again')),
    ]);
    assert.deepEqual(seen.sort(), ['a', 'b']);
    assert.equal(a, 'value-a');
    assert.equal(a2, 'value-a');
    assert.equal(b, 'value-b');
  });

  test('a rejection reaches every caller and frees the key', async () => {
    const flights = new SingleFlight<string, number>();
    const { work, calls } = controllableWork<number>();
    const withSignal = new AbortController();
    const waits = [flights.run('k', work), flights.run('k', work), flights.run('k', work, withSignal.signal)];
    const failure = new Error('hub down');
    calls[0]!.result.reject(failure);
    const settled = await Promise.allSettled(waits);
    for (const outcome of settled) {
      assert.equal(outcome.status, 'rejected');
      assert.equal(outcome.status === 'rejected' && outcome.reason, failure);
    }
    assert.equal(flights.size, 0);

    const again = flights.run('k', work);
    assert.equal(calls.length, 2, 'the next run invokes the work again');
    calls[1]!.result.resolve(7);
    assert.equal(await again, 7);
  });

  test('the key is freed after success too: a later run starts new work', async () => {
    const flights = new SingleFlight<string, number>();
    let invocations = 0;
    const work = async () => ++invocations;
    assert.equal(await flights.run('k', work), 1);
    assert.equal(await flights.run('k', work), 2);
  });

  test('one caller aborting rejects only that caller; the shared work goes on', async () => {
    const flights = new SingleFlight<string, string>();
    const { work, calls } = controllableWork<string>();
    const impatient = new AbortController();
    const patient = new AbortController();
    const first = flights.run('k', work, impatient.signal);
    const second = flights.run('k', work, patient.signal);
    const third = flights.run('k', work);

    const reason = new Error('client disconnected');
    impatient.abort(reason);
    await assert.rejects(first, (error: unknown) => isHearthError(error, 'ABORTED') && error.cause === reason);
    assert.equal(calls.length, 1);
    assert.equal(calls[0]!.signal.aborted, false, "the work's signal must not be aborted");

    calls[0]!.result.resolve('done');
    assert.equal(await second, 'done');
    assert.equal(await third, 'done');
    assert.equal(calls[0]!.signal.aborted, false);
  });

  test("when every caller aborts, the work's signal is aborted", async () => {
    const flights = new SingleFlight<string, string>();
    const calls: AbortSignal[] = [];
    const work = (signal: AbortSignal) =>
      new Promise<string>((_, reject) => {
        calls.push(signal);
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    const a = new AbortController();
    const b = new AbortController();
    const first = flights.run('k', work, a.signal);
    const second = flights.run('k', work, b.signal);

    a.abort(new Error('a left'));
    await assert.rejects(first, (error: unknown) => isHearthError(error, 'ABORTED'));
    assert.equal(calls[0]!.aborted, false, 'still one caller waiting');

    const lastReason = new Error('b left');
    b.abort(lastReason);
    await assert.rejects(second, (error: unknown) => isHearthError(error, 'ABORTED'));
    assert.equal(calls[0]!.aborted, true);
    assert.equal(calls[0]!.reason, lastReason);
    await tick();
    assert.equal(flights.size, 0, 'the key is freed once the aborted work settles');
  });

  test('a caller whose signal is already aborted is rejected at once', async () => {
    const flights = new SingleFlight<string, string>();
    const { work, calls } = controllableWork<string>();
    const other = flights.run('k', work);
    await assert.rejects(flights.run('k', work, AbortSignal.abort()), (error: unknown) => isHearthError(error, 'ABORTED'));
    assert.equal(calls[0]!.signal.aborted, false, 'another caller still waits');
    calls[0]!.result.resolve('ok');
    assert.equal(await other, 'ok');
  });

  test('a caller arriving already aborted starts nothing', async () => {
    const flights = new SingleFlight<string, string>();
    const { work, calls } = controllableWork<string>();
    await assert.rejects(flights.run('k', work, AbortSignal.abort()), (error: unknown) => isHearthError(error, 'ABORTED'));
    assert.equal(calls.length, 0);
    assert.equal(flights.size, 0);
  });

  test('work that fails after every caller left is not an unhandled rejection', async () => {
    const flights = new SingleFlight<string, string>();
    const { work, calls } = controllableWork<string>();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const gone = new AbortController();
      const only = flights.run('k', work, gone.signal);
      gone.abort();
      await assert.rejects(only, (error: unknown) => isHearthError(error, 'ABORTED'));
      calls[0]!.result.reject(new Error('the work failed after everyone left'));
      // Unhandled rejections are reported after the microtask queue drains.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  test(
    'a caller arriving after every earlier caller aborted gets fresh work, not the aborted flight',
    async () => {
      const flights = new SingleFlight<string, string>();
      const { work, calls } = controllableWork<string>();
      const gone = new AbortController();
      const first = flights.run('k', work, gone.signal);
      gone.abort();
      await assert.rejects(first);
      assert.equal(calls[0]!.signal.aborted, true);

      // The aborted work is still winding down (closing files, etc.) when a new request arrives.
      const late = flights.run('k', work);
      calls[0]!.result.reject(calls[0]!.signal.reason);
      const fresh = calls[1];
      fresh?.result.resolve('fresh');
      try {
        assert.equal(await late, 'fresh');
        assert.equal(calls.length, 2);
      } finally {
        await late.catch(() => undefined);
      }
    },
  );
});
