import { open } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { HearthError } from '../errors/index.js';
import { lowerThisThreadPriority } from '../lifecycle/thread-priority.js';
import { errnoOf } from './fs-utils.js';
import { HubClient } from './hub-client.js';
import type { RangeReply, RangeRequest, RangeSetup, ThreadError } from './range-protocol.js';
import { RangedFetch } from './ranged-download.js';

/**
 * One attempt at a large blob over parallel ranges (ranged-download.ts), on
 * a thread of its own: its sockets, stream plumbing and garbage (a 64 KiB
 * buffer per socket read) stay off the event loop that answers requests.
 * In-process, a 384 MiB pull over 8 connections delayed the loop 11.5 ms at
 * p99, with stalls up to 18 ms; from here, about 5 ms.
 */
lowerThisThreadPriority();
const setup = workerData as RangeSetup;
const port = parentPort!;
const post = (reply: RangeReply) => port.postMessage(reply);
// Log lines go to the main thread's logger, at its level.
const logger = pino({ level: setup.logLevel, base: undefined }, { write: (line: string) => post({ type: 'log', line }) });
const client = new HubClient({ ...setup.client, logger });
const controller = new AbortController();
port.on('message', (request: RangeRequest) => {
  if (request.type === 'abort') controller.abort(new HearthError('ABORTED', 'download aborted'));
});

const fetcher = new RangedFetch(setup.partial, setup, {
  client,
  logger,
  retries: setup.retries,
  idleTimeoutMs: setup.idleTimeoutMs,
  reserveBytes: 0,
  connections: setup.connections,
  pieceBytes: setup.pieceBytes,
  signal: controller.signal,
  onProgress: (written) => post({ type: 'progress', written }),
});

try {
  // Not append mode: pieces land at their own offsets.
  const handle = await open(setup.partial, 'r+').catch(async () => open(setup.partial, 'w+'));
  try {
    const { digest, size } = await fetcher.attempt(handle);
    post({ type: 'done', digest, size, received: fetcher.received });
  } finally {
    await handle.close();
  }
} catch (error) {
  post({ type: 'failed', error: toThreadError(error), received: fetcher.received });
} finally {
  await client.close();
  port.close();
}

function toThreadError(error: unknown): ThreadError {
  if (error instanceof HearthError) return { hearth: { code: error.code, message: error.message, details: error.details, hint: error.hint }, message: error.message, errno: errnoOf(error) };
  return { message: (error as Error)?.message ?? String(error), errno: errnoOf(error) };
}
