import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import lockfile from 'proper-lockfile';
import { sleep } from '../lifecycle/abortable.js';
import type { Logger } from '../log/logger.js';

export type Release = () => Promise<void>;

export interface AcquireOptions {
  signal?: AbortSignal | undefined;
  logger: Logger;
  /** Polled while another process holds the lock; true means its work made ours unnecessary. */
  isDone: () => Promise<boolean>;
  onWait?: () => void;
  pollMs?: number;
}

/**
 * Cross-process lock around one blob's download (proper-lockfile: mkdir-based,
 * mtime heartbeat, stale after a crash). Returns undefined when another process
 * finished the work while we waited. The lock only avoids duplicate downloads:
 * if locking itself fails we proceed without it, since temp names are unique.
 */
export async function acquireDownloadLock(path: string, options: AcquireOptions): Promise<Release | undefined> {
  await mkdir(dirname(path), { recursive: true });
  let waiting = false;
  for (;;) {
    try {
      return await lockfile.lock(path, {
        realpath: false,
        lockfilePath: path,
        stale: 15_000,
        update: 3_000,
        retries: 0,
        onCompromised: (error) => options.logger.warn({ err: error.message, path }, 'download lock compromised; continuing without it'),
      });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') {
        options.logger.warn({ err: (error as Error).message, path }, 'cannot take download lock; continuing without it');
        return async () => undefined;
      }
    }
    if (!waiting) {
      waiting = true;
      options.onWait?.();
    }
    if (await options.isDone()) return undefined;
    await sleep(options.pollMs ?? 200, options.signal);
  }
}
