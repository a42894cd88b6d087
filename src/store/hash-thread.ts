import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { lowerThisThreadPriority } from '../lifecycle/thread-priority.js';
import { createDigestHash } from './digest.js';
import type { HasherReply, HasherRequest, HasherSetup } from './hash-protocol.js';

/**
 * The hashing side of a FileHasher: reads the file in order, up to the
 * contiguous prefix the downloader reports, and hashes it. Reads hit the page
 * cache the writes just filled, so they cost a memory copy, not a disk read.
 */
lowerThisThreadPriority();
const { path, kind, size } = workerData as HasherSetup;
const port = parentPort!;
const hash = createDigestHash(kind, size);
const fd = openSync(path, 'r');
// One buffer for the life of the thread: no garbage per block.
const block = Buffer.allocUnsafe(4 << 20);
let at = 0;
let target = 0;
let finishing = false;

function post(reply: HasherReply): void {
  port.postMessage(reply);
}

function catchUp(): void {
  while (at < target) {
    const want = Math.min(block.length, target - at);
    const read = readSync(fd, block, 0, want, at);
    if (read === 0) throw new Error(`${path} ends at byte ${at}, before the ${target} bytes reported written`);
    hash.update(block.subarray(0, read));
    at += read;
  }
}

port.on('message', (request: HasherRequest) => {
  try {
    if (request.type === 'advance') target = Math.max(target, request.to);
    else finishing = true;
    catchUp();
    if (finishing) {
      closeSync(fd);
      post({ type: 'digest', digest: hash.digest('hex'), bytes: at });
      port.close();
    }
  } catch (error) {
    post({ type: 'failed', message: (error as Error).message });
    port.close();
  }
});
