import { readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
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
const HEARTBEAT = { stale: 24 * 3600_000, update: 10_000 } as const;

/**
 * A holder on another machine (a folder shared between containers) cannot
 * be asked whether its process lives; its lock is taken for dead only when
 * its heartbeat has been silent this long, far beyond any PGlite statement
 * hearth runs.
 */
const FOREIGN_STALE_MS = 10 * 60_000;

/** A lock without an owner record (one being taken now, or an older hearth's, whose heartbeat beat every 3 s) is watched this long, and taken for dead 15 s after its last beat. */
const LEGACY = { watchMs: 7_000, staleMs: 15_000 } as const;

/** Who holds the lock: written inside the lock folder right after it is taken. */
interface Owner {
  pid: number;
  host: string;
  /** When the process started (Linux: /proc/<pid>/stat), so that a reused pid is not taken for the owner. */
  start?: string | undefined;
}

/**
 * Takes the embedded database folder for this process alone: a lock folder
 * beside it (`<dataDir>.lock`) holding the owner's process id and host. A
 * second process gets MEMORY_LOCKED while that process lives; a lock whose
 * owner is gone (killed with `kill -9`) is taken over at once, so the command
 * after a crash opens the database instead of failing. Unlike the model
 * cache's locks (src/store), which must see across containers at once, this
 * one can ask the kernel: a PGlite folder belongs to one machine.
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
    // proper-lockfile checks that the folder's mtime is still the one it set: writing into the folder must not change it.
    const { atimeMs, mtimeMs } = await stat(lockDir);
    await writeFile(join(lockDir, 'owner.json'), JSON.stringify({ pid: process.pid, host: hostname(), start: await processStart(process.pid) } satisfies Owner));
    await utimes(lockDir, atimeMs / 1000, mtimeMs / 1000);
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
        if (owner && owner.host !== hostname()) {
          if (!(await silentFor(lockDir, FOREIGN_STALE_MS))) throw error;
          logger.warn({ dataDir, host: owner.host }, 'the memory database was locked from another machine that stopped refreshing it 10 minutes ago; taking it over');
          await rm(lockDir, { recursive: true, force: true });
          continue;
        }
        if (owner) {
          if (await alive(owner)) throw error;
          // Read again just before removing: another process may have taken the lock over meanwhile.
          if ((await readOwner(lockDir))?.pid !== owner.pid) continue;
          logger.warn({ dataDir, pid: owner.pid }, 'the memory database was locked by a process that is gone; taking it over');
          await rm(lockDir, { recursive: true, force: true });
          continue;
        }
        // No owner record yet: the holder is between taking the lock and writing it, or is an older hearth.
        if (await silentFor(lockDir, LEGACY.staleMs)) {
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

/**
 * Whether the owner still runs: a process with its id exists (EPERM: it
 * does, and belongs to another user) and, where the kernel says when it
 * started, started when the owner did. Test suites and busy machines wrap
 * pids within minutes, so a bare id is not enough.
 */
async function alive(owner: Owner): Promise<boolean> {
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const start = await processStart(owner.pid);
  return owner.start === undefined || start === undefined || start === owner.start;
}

/** A process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat); undefined where there is no /proc. */
async function processStart(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  // The command name (field 2) is in parentheses and may hold spaces: count the fields after its closing one.
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

/** Whether the lock's heartbeat (its folder's mtime) has been silent for `ms`. */
async function silentFor(lockDir: string, ms: number): Promise<boolean> {
  const beat = (await stat(lockDir).catch(() => undefined))?.mtimeMs;
  return beat !== undefined && Date.now() - beat > ms;
}
