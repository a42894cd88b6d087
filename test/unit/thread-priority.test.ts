import assert from 'node:assert/strict';
import { readlinkSync } from 'node:fs';
import { getPriority } from 'node:os';
import { describe, test } from 'node:test';
import { spawnWorker } from '../../src/lifecycle/spawn-worker.js';
import { lowerThisThreadPriority } from '../../src/lifecycle/thread-priority.js';

const LINUX = process.platform === 'linux';

describe('lowerThisThreadPriority', () => {
  test('lowers the calling thread only, not the process', { skip: LINUX ? false : 'per-thread nice is Linux' }, async () => {
    // A worker lowers itself and reports its own priority; the main thread's stays as it was.
    const before = getPriority(process.pid);
    const worker = spawnWorker(new URL('../support/priority-probe-thread', import.meta.url), 7);
    const nice = await new Promise<number>((resolve, reject) => worker.once('message', resolve).once('error', reject));
    await worker.terminate();
    assert.equal(nice, Math.max(before, 7));
    assert.equal(getPriority(process.pid), before);
    assert.equal(getPriority(Number(readlinkSync('/proc/thread-self').split('/').pop())), before);
  });

  test('never throws, whatever the platform allows', () => {
    assert.doesNotThrow(() => lowerThisThreadPriority(getPriority(process.pid)));
  });
});
