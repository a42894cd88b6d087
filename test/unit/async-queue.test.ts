import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { AsyncQueue } from '../../src/lifecycle/async-queue.js';

/** Lets every pending promise reaction run (no timers involved). */
async function flush(): Promise<void> {
  await nextMacrotask();
}

/** Records whether a promise has settled, without waiting for it. */
function track<T>(promise: Promise<T>): { settled: boolean } {
  const tracked = { settled: false };
  promise.then(
    () => (tracked.settled = true),
    () => (tracked.settled = true),
  );
  return tracked;
}

describe('AsyncQueue', () => {
  test('items pushed before and after the consumer starts arrive in order', async () => {
    const queue = new AsyncQueue<number>();
    queue.push(1);
    queue.push(2);
    const received: number[] = [];
    const consumer = (async () => {
      for await (const item of queue) received.push(item);
    })();
    await flush();
    assert.deepEqual(received, [1, 2]);
    queue.push(3);
    await flush();
    queue.push(4);
    queue.push(5);
    queue.close();
    await consumer;
    assert.deepEqual(received, [1, 2, 3, 4, 5]);
  });

  test('a pending read is resolved by the next push', async () => {
    const queue = new AsyncQueue<string>();
    const read = queue.next();
    queue.push('a');
    assert.deepEqual(await read, { value: 'a', done: false });
  });

  test('close() ends iteration after the buffered items', async () => {
    const queue = new AsyncQueue<number>();
    queue.push(1);
    queue.push(2);
    queue.close();
    const received: number[] = [];
    for await (const item of queue) received.push(item);
    assert.deepEqual(received, [1, 2]);
    assert.deepEqual(await queue.next(), { value: undefined, done: true });
  });

  test('close() resolves a pending read as done', async () => {
    const queue = new AsyncQueue<number>();
    const read = queue.next();
    queue.close();
    assert.deepEqual(await read, { value: undefined, done: true });
  });

  test('close(error) rejects a pending read with that error', async () => {
    const queue = new AsyncQueue<number>();
    const failure = new Error('decode failed');
    const read = queue.next();
    queue.close(failure);
    await assert.rejects(read, (e) => e === failure);
  });

  test('close(error) delivers the buffered items first, then the error', async () => {
    const queue = new AsyncQueue<number>();
    const failure = new Error('decode failed');
    queue.push(1);
    queue.push(2);
    queue.close(failure);
    const received: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const item of queue) received.push(item);
      })(),
      (e) => e === failure,
    );
    assert.deepEqual(received, [1, 2]);
  });

  test('after close(error) every further read rejects with the same error', async () => {
    const queue = new AsyncQueue<number>();
    const failure = new Error('boom');
    queue.close(failure);
    await assert.rejects(queue.next(), (e) => e === failure);
    await assert.rejects(queue.next(), (e) => e === failure);
  });

  test('push after close is ignored', async () => {
    const queue = new AsyncQueue<number>();
    queue.push(1);
    queue.close();
    queue.push(2);
    assert.deepEqual(await queue.next(), { value: 1, done: false });
    assert.deepEqual(await queue.next(), { value: undefined, done: true });
  });

  test('push after close(error) is ignored and the error still follows the buffer', async () => {
    const queue = new AsyncQueue<number>();
    const failure = new Error('boom');
    queue.push(1);
    queue.close(failure);
    queue.push(2);
    assert.deepEqual(await queue.next(), { value: 1, done: false });
    await assert.rejects(queue.next(), (e) => e === failure);
  });

  test('only the first close counts', async () => {
    const queue = new AsyncQueue<number>();
    queue.close();
    queue.close(new Error('too late'));
    assert.deepEqual(await queue.next(), { value: undefined, done: true });
  });

  test('breaking out of for-await calls return(), which stops the queue and drops the rest', async () => {
    const queue = new AsyncQueue<number>();
    queue.push(1);
    queue.push(2);
    queue.push(3);
    const received: number[] = [];
    for await (const item of queue) {
      received.push(item);
      break;
    }
    assert.deepEqual(received, [1]);
    queue.push(4);
    assert.deepEqual(await queue.next(), { value: undefined, done: true });
  });

  test('return() ends iteration for a consumer that keeps reading', async () => {
    const queue = new AsyncQueue<number>();
    queue.push(1);
    assert.deepEqual(await queue.return(), { value: undefined, done: true });
    queue.push(2);
    const received: number[] = [];
    for await (const item of queue) received.push(item);
    assert.deepEqual(received, []);
  });

  test('return() resolves a pending read as done', async () => {
    const queue = new AsyncQueue<number>();
    const read = queue.next();
    await queue.return();
    assert.deepEqual(await read, { value: undefined, done: true });
  });

  test('is its own async iterator', () => {
    const queue = new AsyncQueue<number>();
    assert.equal(queue[Symbol.asyncIterator](), queue);
  });

  test('concurrent next() calls are each answered', async () => {
    const queue = new AsyncQueue<number>();
    const first = queue.next();
    const firstState = track(first);
    const second = queue.next();
    queue.push(1);
    queue.push(2);
    queue.close(); // settles whatever is still waiting, so nothing hangs
    await flush();
    assert.ok(firstState.settled, 'the first of two concurrent reads never settled');
    assert.deepEqual(await first, { value: 1, done: false });
    assert.deepEqual(await second, { value: 2, done: false });
  });
});
