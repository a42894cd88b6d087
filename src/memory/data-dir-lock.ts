import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import lockfile from 'proper-lockfile';
import { HearthError } from '../errors/index.js';
import type { Logger } from '../log/logger.js';

/**
 * The lock's heartbeat. PGlite runs its statements on this thread, so a long
 * one (a 100k-row HNSW build takes minutes) stops the heartbeat as surely as
 * a dead process does: a short staleness would make proper-lockfile declare
 * its own live lock compromised. Staleness is therefore long, and a dead
 * holder is told by its process id instead (the folder is on this machine).
 */
const HEARTBEAT = { stale: 24 * 3600_000, update: 60_000 } as const;

/** A lock without an owner record (one being taken now, or left by an older hearth) is judged by its heartbeat, watched this long. */
const LEGACY = { watchMs: 7_000, staleMs: 15_000 } as const;

/** Who holds the lock: written inside the lock folder right after it is taken. */
interface Owner {
  pid: number;
  host: string;
}

/**
 * Takes the embedded database folder for this process alone: a lock folder
 * beside it (`<dataDir>.lock`) holding the owner's process id. A second
 * process gets MEMORY_LOCKED while that process lives; a lock whose owner is
 * gone (killed with `kill -9`) is taken over at once, so the command after
 * a crash opens the database instead of failing.
 */
export async function lockDataDir(dataDir: string, logger: Logger, signal?: AbortSignal): Promise<() => Promise<void>> {
  const lockDir = `${dataDir}.lock`;
  const take = async () => {
    const release = await lockfile.lock(dataDir, {
      ...HEARTBEAT,
      realpath: false,
      retries: 0,
      onCompromised: (error) => logger.error({ err: error.message, dataDir }, 'lost the lock on the memory database folder; another process may open it'),
    });
    await writeFile(join(lockDir, 'owner.json'), JSON.stringify({ pid: process.pid, host: hostname() } satisfies Owner));
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      // proper-lockfile removes its folder with rmdir, which needs it empty.
      await rm(join(lockDir, 'owner.json'), { force: true });
      // Already released means proper-lockfile gave it up (reported through onCompromised): nothing is left to free.
      await release().catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ERELEASED') throw error;
      });
    };
  };
  try {
    const started = Date.now();
    for (;;) {
      try {
        return await take();
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') throw error;
        const owner = await readOwner(lockDir);
        if (owner && owner.host === hostname()) {
          if (alive(owner.pid)) throw error;
          // Read again just before removing: another process may have taken the lock over meanwhile.
          if ((await readOwner(lockDir))?.pid !== owner.pid) continue;
          logger.warn({ dataDir, pid: owner.pid }, 'the memory database was locked by a process that is gone; taking it over');
          await rm(lockDir, { recursive: true, force: true });
          continue;
        }
        // No owner record yet: the holder is between taking the lock and writing it, or is an older hearth.
        if (await legacyStale(lockDir)) {
          await rm(lockDir, { recursive: true, force: true });
          continue;
        }
        if (Date.now() - started > LEGACY.watchMs) throw error;
        await sleep(250, undefined, { signal });
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

async function readOwner(lockDir: string): Promise<Owner | undefined> {
  try {
    const owner = JSON.parse(await readFile(join(lockDir, 'owner.json'), 'utf8')) as Owner;
    return Number.isSafeInteger(owner.pid) && typeof owner.host === 'string' ? owner : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a process with this id exists (EPERM: it does, and belongs to another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A lock without an owner whose heartbeat stopped 15 s ago: an older hearth's, left by a crash. */
async function legacyStale(lockDir: string): Promise<boolean> {
  const beat = (await stat(lockDir).catch(() => undefined))?.mtimeMs;
  return beat !== undefined && Date.now() - beat > LEGACY.staleMs;
}
