import assert from 'node:assert/strict';
import { readlinkSync } from 'node:fs';
import { getPriority } from 'node:os';
import { describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { lowerThisThreadPriority } from '../../src/lifecycle/thread-priority.js';

const LINUX = process.platform === 'linux';

describe('lowerThisThreadPriority', () => {
  test('lowers the calling thread only, not the process', { skip: LINUX ? false : 'per-thread nice is Linux' }, async () => {
    const url = new URL('../../src/lifecycle/thread-priority.ts', import.meta.url).href;
    // A worker lowers itself and reports its own priority; the main thread's stays as it was.
    const before = getPriority(process.pid);
    const source = `
      const { parentPort } = await import('node:worker_threads');
      const { readlinkSync } = await import('node:fs');
      const { getPriority } = await import('node:os');
      const { register } = await import('tsx/esm/api');
      register();
      const { lowerThisThreadPriority } = await import(${JSON.stringify(url)});
      lowerThisThreadPriority(7);
      parentPort.postMessage(getPriority(Number(readlinkSync('/proc/thread-self').split('/').pop())));`;
    const worker = new Worker(source, { eval: true });
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
