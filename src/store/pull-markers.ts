import { randomBytes } from 'node:crypto';
import { readdir, readFile, rm, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import lockfile from 'proper-lockfile';
import { HearthError } from '../errors/index.js';
import { raceAbort } from '../lifecycle/abortable.js';
import type { Logger } from '../log/logger.js';
import { acquireDownloadLock } from './file-lock.js';
import { isUnwritable, writeFileAtomic } from './fs-utils.js';
import { lockPath, type RepoDir } from './layout.js';

/**
 * Publishing a pull takes several steps (blobs renamed into blobs/, then the
 * snapshot links, then the completion record and the ref), and in between its
 * blobs are linked by nothing. gc and rm would see them as garbage. So a
 * publisher first leaves a marker, a small JSON file naming the blobs it is
 * about to link (or the whole repo folder when it cannot know them yet), and
 * removes it when it is done. Sweepers skip what a live marker names.
 *
 * A marker is live while its writer holds its lock: a proper-lockfile lock
 * beside it (`<marker>.lock`), whose mtime the holder refreshes every 3 s and
 * which counts as dead 15 s after the last refresh, as the download locks do
 * (file-lock.ts). Liveness is never read from a pid: the same host name with
 * another pid namespace (containers sharing a cache) would make a live pull
 * look dead and lose its blobs, and a pid reused by another process would
 * keep a dead one alive for ever. The heartbeat says the same thing on every
 * host, so a marker of a dead writer is ignored and removed wherever it came from.
 *
 * Markers and the sweep lock live next to the download locks, in the cache's
 * `.locks/<repo folder>/`, so that every hearth sharing the cache sees them,
 * whatever its HEARTH_HOME.
 *
 * Checking markers and deleting must not interleave with a marker being
 * written, or a sweeper could read "no marker", then a pull could register
 * and find its blob, then the sweeper could delete it. Both sides therefore
 * hold the repo folder's sweep lock: a pull only while it takes its marker's
 * lock and writes its marker, a sweeper while it scans, reads markers and
 * deletes. Whatever a pull finds on disk after registering is then safe until
 * it removes its marker.
 */

export interface PullMarker {
  format: 'hearth-pull';
  /** Who wrote it, for a person reading `.locks`; liveness is the lock's alone. */
  host: string;
  pid: number;
  startedAt: string;
  /** The blobs this publisher will link; undefined protects every blob of the folder. */
  blobs: string[] | undefined;
}

/** Blobs that live publishers will link, for a sweeper holding the sweep lock. */
export interface Protection {
  all: boolean;
  digests: Set<string>;
  /** Live markers: a pull or import is writing into the folder. */
  live: number;
}

type Ctx = { logger: Logger; signal?: AbortSignal | undefined };

const MARKER_SUFFIX = '.hearth-pull';
const LOCK_SUFFIX = '.lock';
/** The download locks' heartbeat (file-lock.ts): refreshed every 3 s, dead 15 s after the last refresh. */
const MARKER_LOCK = { stale: 15_000, update: 3_000 } as const;

/** Beside the download locks; no folder of their own, so a finished pull leaves `.locks/<repo folder>/` as it found it. */
function markerDir(dir: RepoDir): string {
  return join(dir.parent, '.locks', dir.id);
}

function sweepLockPath(dir: RepoDir): string {
  return lockPath(dir, 'sweep');
}

function markerLockPath(marker: string): string {
  return `${marker}${LOCK_SUFFIX}`;
}

/**
 * Registers a publisher of `blobs` into `dir`; returns the function that
 * unregisters it. A cache whose `.locks` cannot be written cannot be swept
 * either, so then the pull goes on without a marker (with a warning).
 */
export async function registerPull(dir: RepoDir, blobs: string[] | undefined, ctx: Ctx): Promise<() => Promise<void>> {
  const path = join(markerDir(dir), `${process.pid}-${randomBytes(4).toString('hex')}${MARKER_SUFFIX}`);
  const marker: PullMarker = { format: 'hearth-pull', host: hostname(), pid: process.pid, startedAt: new Date().toISOString(), blobs };
  let releaseSweep: (() => Promise<void>) | undefined;
  let releaseMarker: (() => Promise<void>) | undefined;
  try {
    releaseSweep = await takeSweepLock(dir, ctx);
    // The lock first: a marker file is never there without its holder, except after a crash.
    releaseMarker = await holdMarker(path, ctx.logger);
    await writeFileAtomic(path, JSON.stringify(marker));
  } catch (error) {
    await releaseMarker?.().catch(() => undefined);
    if (error instanceof HearthError && error.code === 'ABORTED') throw error;
    if (!isUnwritable(error)) throw error;
    ctx.logger.warn({ dir: dir.root, err: (error as Error).message }, 'cannot register the pull for gc; the cache is not writable');
    return async () => undefined;
  } finally {
    await releaseSweep?.().catch(() => undefined);
  }
  const release = releaseMarker;
  return async () => {
    // The marker goes before its lock, so a sweeper never takes a live pull's marker for a dead one's.
    await unlink(path).catch(() => undefined);
    await release().catch(() => undefined);
  };
}

/** Takes the marker's lock and keeps its heartbeat going until released. */
async function holdMarker(path: string, logger: Logger): Promise<() => Promise<void>> {
  return lockfile.lock(path, {
    realpath: false,
    lockfilePath: markerLockPath(path),
    ...MARKER_LOCK,
    retries: 0,
    // The heartbeat fell more than 15 s behind: a sweeper may now take the pull for dead.
    // The pull itself notices any blob that goes missing before its links are complete (pull.ts ensureLinked).
    onCompromised: (error) => logger.warn({ err: error.message, marker: path }, 'pull marker lock compromised; gc may no longer see this pull'),
  });
}

/** Whether a marker's writer still holds its lock; when that cannot be told, it is taken as live (deleting is what must not go wrong). */
async function isHeld(path: string): Promise<boolean> {
  return lockfile.check(path, { realpath: false, lockfilePath: markerLockPath(path), stale: MARKER_LOCK.stale }).catch(() => true);
}

/**
 * Runs `sweep` while holding the repo folder's sweep lock, so that no pull
 * registers in between (see the module comment). Throws when the lock cannot
 * be taken: sweeping without it could delete what a pull is about to link.
 */
export async function withSweepLock<T>(dir: RepoDir, ctx: Ctx, sweep: () => Promise<T>): Promise<T> {
  const release = await takeSweepLock(dir, ctx);
  try {
    return await sweep();
  } finally {
    await release().catch(() => undefined);
  }
}

/** Holders in this process, per lock path: they queue here instead of polling the lock file against each other. */
const localHolders = new Map<string, Promise<void>>();

/**
 * Takes a repo folder's sweep lock: first in this process (a promise queue),
 * then across processes (the lock file, polled briefly since it is only ever
 * held for a marker write or one folder's sweep). Returns its release; for a
 * caller that must tell a lock it cannot take apart from what it does once it holds it.
 */
export async function takeSweepLock(dir: RepoDir, ctx: Ctx): Promise<() => Promise<void>> {
  const path = sweepLockPath(dir);
  const previous = localHolders.get(path);
  const before = previous ?? Promise.resolve();
  let done!: () => void;
  const mine = new Promise<void>((resolve) => (done = resolve));
  const queued = before.then(() => mine);
  localHolders.set(path, queued);
  const leave = () => {
    done();
    if (localHolders.get(path) === queued) localHolders.delete(path);
  };
  const waiting = () => ctx.logger.debug({ dir: dir.root }, 'waiting for the sweep lock');
  try {
    if (previous) waiting();
    await raceAbort(before, ctx.signal);
    const release = await acquireDownloadLock(path, { logger: ctx.logger, signal: ctx.signal, isDone: async () => false, required: true, pollMs: 25, onWait: waiting });
    return async () => {
      try {
        await release?.();
      } finally {
        leave();
      }
    };
  } catch (error) {
    leave();
    throw error;
  }
}

/**
 * What live publishers protect in `dir`. Markers whose lock is no longer
 * held (their writer died) are ignored, and removed when `clean` is set (a
 * sweeper that holds the sweep lock), with any lock left without its marker.
 */
export async function protectedBlobs(dir: RepoDir, options: { clean: boolean; logger: Logger }): Promise<Protection> {
  const protection: Protection = { all: false, digests: new Set(), live: 0 };
  const root = markerDir(dir);
  const names = await readdir(root).catch(() => [] as string[]);
  for (const name of names) {
    const path = join(root, name);
    if (name.endsWith(MARKER_SUFFIX + LOCK_SUFFIX)) {
      // A writer that died between taking its lock and writing its marker.
      const marker = path.slice(0, -LOCK_SUFFIX.length);
      if (options.clean && !names.includes(basename(marker)) && !(await isHeld(marker))) await rm(path, { recursive: true, force: true }).catch(() => undefined);
      continue;
    }
    if (!name.endsWith(MARKER_SUFFIX)) continue;
    const marker = await readMarker(path);
    if (marker === 'gone') continue;
    if (!(await isHeld(path))) {
      if (options.clean) {
        await unlink(path).catch(() => undefined);
        await rm(markerLockPath(path), { recursive: true, force: true }).catch(() => undefined);
        options.logger.info({ marker: path }, 'removed the marker of a pull that is no longer running');
      }
      continue;
    }
    protection.live++;
    // A held marker that cannot be read was not written by hearth as it writes them: protect everything rather than guess.
    if (marker === undefined || marker.blobs === undefined) protection.all = true;
    else for (const digest of marker.blobs) protection.digests.add(digest);
  }
  return protection;
}

export function isProtected(protection: Protection, digest: string): boolean {
  return protection.all || protection.digests.has(digest);
}

async function readMarker(path: string): Promise<PullMarker | undefined | 'gone'> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return 'gone'; // removed by its owner while we listed the folder
  }
  try {
    const marker = JSON.parse(text) as PullMarker;
    const wellFormed =
      marker?.format === 'hearth-pull' && (marker.blobs === undefined || (Array.isArray(marker.blobs) && marker.blobs.every((b) => typeof b === 'string')));
    return wellFormed ? marker : undefined;
  } catch {
    return undefined;
  }
}
