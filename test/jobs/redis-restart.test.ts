import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BullmqExecutor } from '../../src/jobs/bullmq/bullmq-executor.js';
import type { JobStatus } from '../../src/jobs/executor.js';
import { startRedis, type RedisServer } from '../support/redis.js';

const probe = await startRedis(process.env, { persistent: true });
const skip = 'unavailable' in probe ? probe.unavailable : false;

/**
 * Redis going away mid-job and coming back (killed with -9, restarted from
 * its append-only file): the job goes on once it is back, and its result
 * has every chunk once, in order. Paced by promises the test resolves,
 * never by time.
 */
describe('BullMQ jobs across a Redis restart', { skip }, () => {
  const redis = probe as RedisServer;
  let executor: BullmqExecutor;
  const started = new Map<number, () => void>();
  const release = new Map<number, () => void>();
  const runs: number[] = [];
  const startedOf = (i: number) => new Promise<void>((resolve) => started.set(i, resolve));
  const releasedOf = (i: number) => new Promise<void>((resolve) => release.set(i, resolve));
  const gates = new Map<number, Promise<void>>();

  before(() => {
    executor = new BullmqExecutor({ url: redis.url, concurrency: 1, prefix: 'restart' });
    executor.register('r', {
      async child(_data, child, index) {
        runs.push(index);
        started.get(index)?.();
        await gates.get(index);
        return { index, child };
      },
      async parent(_data, results) {
        return results;
      },
    });
  });
  after(async () => {
    await executor?.dispose();
    await redis?.stop();
  });

  test('a job whose Redis was killed and restarted mid-chunk completes with every chunk once, in order', async () => {
    const secondStarted = startedOf(1);
    gates.set(1, releasedOf(1));
    const id = await executor.submit({ queue: 'r', data: {}, children: ['a', 'b', 'c', 'd'] });
    await secondStarted;
    await redis.kill();
    // The chunk finishes while Redis is down: its completion waits in the client's queue, or the chunk runs again.
    release.get(1)!();
    await redis.restart();
    let last: JobStatus | undefined;
    for await (const status of executor.watch(id)) last = status;
    assert.equal(last?.state, 'completed', JSON.stringify(last?.error));
    assert.deepEqual(last?.result, ['a', 'b', 'c', 'd'].map((child, index) => ({ index, child })));
    assert.deepEqual([...new Set(runs)].sort(), [0, 1, 2, 3], `every chunk ran (runs: ${runs.join(',')})`);
  });
});
