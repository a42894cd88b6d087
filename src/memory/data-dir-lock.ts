import { stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import lockfile from 'proper-lockfile';
import { HearthError } from '../errors/index.js';
import type { Logger } from '../log/logger.js';

/** The store's lock heartbeat (file-lock.ts): refreshed every 3 s, taken as dead 15 s after the last refresh. */
const HEARTBEAT = { stale: 15_000, update: 3_000 } as const;

/** How long a held lock is watched for a heartbeat before its holder is taken for dead: two beats and a margin. */
const WATCH_MS = 2 * HEARTBEAT.update + 1_000;

/**
 * Takes the embedded database folder for this process alone: a lock folder
 * beside it (`<dataDir>.lock`) whose mtime this process keeps fresh. A
 * second process gets MEMORY_LOCKED as soon as it sees the holder's
 * heartbeat. A lock whose heartbeat stopped (its process was killed) is
 * waited out and taken over once it is 15 s old, so the command after a
 * `kill -9` opens the database instead of failing.
 */
export async function lockDataDir(dataDir: string, logger: Logger, signal?: AbortSignal): Promise<() => Promise<void>> {
  const take = () =>
    lockfile.lock(dataDir, {
      ...HEARTBEAT,
      realpath: false,
      retries: 0,
      // The heartbeat fell behind (a suspended laptop): another process may now open the folder too.
      onCompromised: (error) => logger.error({ err: error.message, dataDir }, 'lost the lock on the memory database folder; another process may open it'),
    });
  try {
    try {
      return await take();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
      const first = await heartbeat(dataDir);
      const started = Date.now();
      let warned = false;
      for (;;) {
        await sleep(500, undefined, { signal });
        const beat = await heartbeat(dataDir);
        // A live holder refreshes its lock every 3 s: it has the database.
        if (beat !== undefined && first !== undefined && beat !== first) throw error;
        if (Date.now() - started > WATCH_MS && !warned) {
          warned = true;
          logger.warn({ dataDir }, 'the memory database is locked by a process that stopped; taking it over once its lock is stale (15 s)');
        }
        try {
          return await take();
        } catch (retry) {
          if ((retry as NodeJS.ErrnoException).code !== 'ELOCKED') throw retry;
        }
      }
    }
  } catch (error) {
    if (signal?.aborted) throw new HearthError('ABORTED', 'stopped waiting for the memory database lock', { cause: error });
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

/** The lock's mtime in ms: what its holder refreshes; undefined when there is no lock. */
async function heartbeat(dataDir: string): Promise<number | undefined> {
  return (await stat(`${dataDir}.lock`).catch(() => undefined))?.mtimeMs;
}
