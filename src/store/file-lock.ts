import { readFile, rm, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import lockfile from 'proper-lockfile';
import { sleep } from '../lifecycle/abortable.js';
import type { Logger } from '../log/logger.js';
import { ensureDir } from './fs-utils.js';

export type Release = () => Promise<void>;

export interface AcquireOptions {
  signal?: AbortSignal | undefined;
  logger: Logger;
  /** Polled while another process holds the lock; true means its work made ours unnecessary. */
  isDone: () => Promise<boolean>;
  onWait?: () => void;
  pollMs?: number;
  /** Throw when the lock cannot be taken at all (instead of going on without it). */
  required?: boolean;
}

/**
 * Cross-process lock around one blob's download (proper-lockfile: mkdir-based,
 * mtime heartbeat, stale after a crash). Returns undefined when another process
 * finished the work while we waited. The lock only avoids duplicate downloads:
 * if locking itself fails we proceed without it, since temp names are unique.
 */
export async function acquireDownloadLock(path: string, options: AcquireOptions): Promise<Release | undefined> {
  await ensureDir(dirname(path));
  let waiting = false;
  for (;;) {
    try {
      const release = await lockfile.lock(path, {
        realpath: false,
        lockfilePath: path,
        stale: 15_000,
        update: 3_000,
        retries: 0,
        onCompromised: (error) => options.logger.warn({ err: error.message, path }, 'download lock compromised; continuing without it'),
      });
      const owner = join(path, OWNER_FILE);
      await writeFile(owner, `${hostname()}\n${process.pid}\n`).catch(() => undefined);
      // proper-lockfile removes the lock with rmdir, so the owner file must go first.
      return async () => {
        await rm(owner, { force: true });
        await release();
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') {
        if (options.required) throw error;
        options.logger.warn({ err: (error as Error).message, path }, 'cannot take download lock; continuing without it');
        return async () => undefined;
      }
    }
    if (!waiting) {
      waiting = true;
      options.onWait?.();
    }
    if (await options.isDone()) return undefined;
    if (await ownerIsDead(path)) {
      options.logger.info({ path }, 'taking over the download lock of a process that died');
      await rm(path, { recursive: true, force: true });
      continue;
    }
    await sleep(options.pollMs ?? 200, options.signal);
  }
}

const OWNER_FILE = 'owner';

/**
 * proper-lockfile only notices a crashed holder once its heartbeat is stale
 * (15 s). On the same host we can tell at once: the owner's pid is gone.
 */
async function ownerIsDead(path: string): Promise<boolean> {
  const owner = await readFile(join(path, OWNER_FILE), 'utf8').catch(() => undefined);
  const [host, pid] = owner?.split('\n') ?? [];
  if (host !== hostname() || !pid || Number(pid) === process.pid) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
