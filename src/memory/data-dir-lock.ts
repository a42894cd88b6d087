import lockfile from 'proper-lockfile';
import { HearthError } from '../errors/index.js';
import type { Logger } from '../log/logger.js';

/** The store's lock heartbeat (file-lock.ts): refreshed every 3 s, taken as dead 15 s after the last refresh. */
const HEARTBEAT = { stale: 15_000, update: 3_000 } as const;

/**
 * Takes the embedded database folder for this process alone: a lock folder
 * beside it (`<dataDir>.lock`) whose mtime this process keeps fresh. A
 * second process gets MEMORY_LOCKED at once; a lock left by a process that
 * died is taken over once its heartbeat is 15 s old.
 */
export async function lockDataDir(dataDir: string, logger: Logger): Promise<() => Promise<void>> {
  try {
    return await lockfile.lock(dataDir, {
      ...HEARTBEAT,
      realpath: false,
      retries: 0,
      // The heartbeat fell behind (a suspended laptop): another process may now open the folder too.
      onCompromised: (error) => logger.error({ err: error.message, dataDir }, 'lost the lock on the memory database folder; another process may open it'),
    });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOCKED') {
      throw new HearthError('MEMORY_LOCKED', `another hearth process has the memory database ${dataDir} open`, {
        cause: error,
        details: { dataDir },
        hint: 'use the running server (hearth memory over HTTP), stop it first, or set HEARTH_DATABASE_URL to share a Postgres server',
      });
    }
    throw new HearthError('IO_ERROR', `cannot lock the memory database ${dataDir}: ${(error as Error).message}`, { cause: error });
  }
}
