import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { isHearthError } from '../../src/errors/index.js';
import { Semaphore } from '../../src/lifecycle/semaphore.js';

/** Lets every pending promise reaction run (no timers involved). */
async function flush(): Promise<void> {
  await nextMacrotask();
}

type State<T> = { status: 'pending' } | { status: 'fulfilled'; value: T } | { status: 'rejected'; reason: unknown };

/** Tracks a promise's settlement so tests can ask "has it settled yet?" without waiting on it. */
function track<T>(promise: Promise<T>): { readonly state: State<T>; promise: Promise<T> } {
  const tracked = { state: { status: 'pending' } as State<T>, promise };
  promise.then(
    (value) => (tracked.state = { status: 'fulfilled', value }),
    (reason: unknown) => (tracked.state = { status: 'rejected', reason }),
  );
  return tracked;
}

function release<T>(tracked: { state: State<T> }): T {
  assert.equal(tracked.state.status, 'fulfilled', 'expected the acquire to have been granted');
  return (tracked.state as { value: T }).value;
}

describe('Semaphore', () => {
  test('starts with every slot free and nobody waiting', () => {
    const sem = new Semaphore(4);
    assert.equal(sem.capacity, 4);
    assert.equal(sem.free, 4);
    assert.equal(sem.waiting, 0);
  });

  test('acquire takes slots and release gives them back', async () => {
    const sem = new Semaphore(4);
    const a = await sem.acquire();
    assert.equal(sem.free, 3);
    const b = await sem.acquire(2);
    assert.equal(sem.free, 1);
    a();
    assert.equal(sem.free, 2);
    b();
    assert.equal(sem.free, 4);
  });

  test('a request that does not fit waits until enough slots are released', async () => {
    const sem = new Semaphore(2);
    const first = await sem.acquire(2);
    const second = track(sem.acquire(1));
    await flush();
    assert.equal(second.state.status, 'pending');
    assert.equal(sem.waiting, 1);
    first();
    await flush();
    assert.equal(sem.waiting, 0);
    assert.equal(sem.free, 1);
    release(second)();
    assert.equal(sem.free, 2);
  });

  test('releasing twice frees the slots only once', async () => {
    const sem = new Semaphore(3);
    const a = await sem.acquire(2);
    const b = await sem.acquire(1);
    a();
    a();
    assert.equal(sem.free, 2);
    b();
    b();
    assert.equal(sem.free, 3);
  });

  test('a repeated release does not hand slots to waiters a second time', async () => {
    const sem = new Semaphore(1);
    const first = await sem.acquire();
    const second = track(sem.acquire());
    const third = track(sem.acquire());
    first();
    first();
    await flush();
    assert.equal(second.state.status, 'fulfilled');
    assert.equal(third.state.status, 'pending', 'a double release let a third holder in');
    assert.equal(sem.free, 0);
    release(second)();
    await flush();
    release(third)();
    assert.equal(sem.free, 1);
  });

  test('waiters are served in arrival order', async () => {
    const sem = new Semaphore(1);
    const holder = await sem.acquire();
    const order: number[] = [];
    const waits = [1, 2, 3].map((i) =>
      sem.acquire().then((r) => {
        order.push(i);
        return r;
      }),
    );
    holder();
    for (const wait of waits) (await wait)();
    assert.deepEqual(order, [1, 2, 3]);
    assert.equal(sem.free, 1);
  });

  test('a big request at the head is not starved by later small ones', async () => {
    const sem = new Semaphore(4);
    const small = await sem.acquire(1);
    const big = track(sem.acquire(4));
    // Three slots are free, yet a later 1-slot request must queue behind the big one.
    const later = track(sem.acquire(1));
    await flush();
    assert.equal(big.state.status, 'pending');
    assert.equal(later.state.status, 'pending', 'a later small request jumped the queue');
    assert.equal(sem.free, 3);
    assert.equal(sem.waiting, 2);

    small();
    await flush();
    assert.equal(big.state.status, 'fulfilled');
    assert.equal(later.state.status, 'pending');
    assert.equal(sem.free, 0);

    release(big)();
    await flush();
    assert.equal(later.state.status, 'fulfilled');
    release(later)();
    assert.equal(sem.free, 4);
  });

  test('one release can wake several waiters at once', async () => {
    const sem = new Semaphore(3);
    const all = await sem.acquire(3);
    const a = track(sem.acquire(1));
    const b = track(sem.acquire(2));
    all();
    await flush();
    assert.equal(a.state.status, 'fulfilled');
    assert.equal(b.state.status, 'fulfilled');
    assert.equal(sem.free, 0);
    release(a)();
    release(b)();
    assert.equal(sem.free, 3);
  });

  test('aborting a waiting acquire rejects with ABORTED and consumes no slots', async () => {
    const sem = new Semaphore(2);
    const holder = await sem.acquire(2);
    const controller = new AbortController();
    const waiting = sem.acquire(1, controller.signal);
    assert.equal(sem.waiting, 1);
    const reason = new Error('client went away');
    controller.abort(reason);
    await assert.rejects(waiting, (e) => isHearthError(e, 'ABORTED') && e.cause === reason);
    assert.equal(sem.waiting, 0);
    assert.equal(sem.free, 0);
    holder();
    assert.equal(sem.free, 2, 'the aborted waiter took slots');
  });

  test('aborting the blocking head lets later waiters proceed', async () => {
    const sem = new Semaphore(4);
    const small = await sem.acquire(1);
    const controller = new AbortController();
    const big = sem.acquire(4, controller.signal);
    const later = track(sem.acquire(2));
    await flush();
    assert.equal(later.state.status, 'pending');
    controller.abort();
    await assert.rejects(big, (e) => isHearthError(e, 'ABORTED'));
    await flush();
    assert.equal(later.state.status, 'fulfilled', 'the waiter behind the aborted head is still blocked');
    assert.equal(sem.free, 1);
    release(later)();
    small();
    assert.equal(sem.free, 4);
  });

  test('aborting a middle waiter keeps the others in order', async () => {
    const sem = new Semaphore(1);
    const holder = await sem.acquire();
    const controller = new AbortController();
    const order: string[] = [];
    const a = sem.acquire().then((r) => (order.push('a'), r));
    const b = sem.acquire(1, controller.signal).then((r) => (order.push('b'), r));
    const c = sem.acquire().then((r) => (order.push('c'), r));
    controller.abort();
    await assert.rejects(b, (e) => isHearthError(e, 'ABORTED'));
    assert.equal(sem.waiting, 2);
    holder();
    (await a)();
    (await c)();
    assert.deepEqual(order, ['a', 'c']);
    assert.equal(sem.free, 1);
  });

  test('aborting after the acquire was granted changes nothing', async () => {
    const sem = new Semaphore(1);
    const holder = await sem.acquire();
    const controller = new AbortController();
    const waiting = sem.acquire(1, controller.signal);
    holder();
    const granted = await waiting;
    controller.abort();
    await flush();
    assert.equal(sem.free, 0);
    granted();
    assert.equal(sem.free, 1);
  });

  test('asking for more than the capacity throws INTERNAL', async () => {
    const sem = new Semaphore(2);
    await assert.rejects(sem.acquire(3), (e) => isHearthError(e, 'INTERNAL'));
    assert.equal(sem.free, 2);
    assert.equal(sem.waiting, 0);
  });

  test('an already-aborted signal rejects a waiting acquire', async () => {
    const sem = new Semaphore(1);
    const holder = await sem.acquire();
    const waiting = track(sem.acquire(1, AbortSignal.abort()));
    await flush();
    const status = waiting.state.status;
    holder(); // unblocks the waiter either way, so nothing is left hanging
    await waiting.promise.then((r) => r(), () => undefined);
    assert.equal(status, 'rejected');
    assert.ok(isHearthError((waiting.state as { reason: unknown }).reason, 'ABORTED'));
  });

  test('a granted waiter removes its abort listener', async () => {
    const sem = new Semaphore(1);
    const holder = await sem.acquire();
    const controller = new AbortController();
    const waiting = sem.acquire(1, controller.signal);
    holder();
    (await waiting)();
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });
});
