import { readlinkSync } from 'node:fs';
import { getPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { lowerThisThreadPriority } from '../../src/lifecycle/thread-priority.js';

/** A thread that lowers itself to `workerData` and reports the priority it then has (test/unit/thread-priority.test.ts). */
lowerThisThreadPriority(workerData as number);
parentPort!.postMessage(getPriority(Number(readlinkSync('/proc/thread-self').split('/').pop())));
