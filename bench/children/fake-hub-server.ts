import { randomBytes } from 'node:crypto';
import { startFakeHub } from '../../test/support/fake-hub.js';
import { childMain } from './child-io.js';

/**
 * The project's fake hub (test/support/fake-hub.ts) on loopback, in its own
 * process, serving one LFS file of `bytes` random bytes at `repo`/`file`.
 * `throttle` (bytes/s) paces every response body on its own, so it is a
 * per-connection limit, as a CDN's often is. Emits its URL, serves until told
 * to stop.
 */
export interface FakeHubInput {
  bytes: number;
  repo: string;
  file: string;
  throttle?: number;
}

childMain<FakeHubInput, { requests: number; bytesSent: number }>(async (input, tools) => {
  const hub = await startFakeHub({ throttle: input.throttle });
  const content = Buffer.allocUnsafe(input.bytes);
  for (let offset = 0; offset < input.bytes; offset += 1 << 24) randomBytes(Math.min(1 << 24, input.bytes - offset)).copy(content, offset);
  hub.addRepo({ id: input.repo, files: [{ path: input.file, content, lfs: true }] });
  tools.emit({ url: hub.url });
  await tools.stopped;
  const stats = { requests: hub.stats.requests, bytesSent: hub.stats.bytesSent };
  await hub.close();
  return stats;
});
