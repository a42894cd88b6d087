import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
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
 * publisher first leaves a marker, a small JSON file owned by its pid, naming
 * the blobs it is about to link (or the whole repo folder when it cannot know
 * them yet), and removes it when it is done. Sweepers skip what a live marker
 * names. A marker of a dead process on this host is ignored and removed.
 *
 * Markers and the sweep lock live next to the download locks, in the cache's
 * `.locks/<repo folder>/`, so that every hearth sharing the cache sees them,
 * whatever its HEARTH_HOME.
 *
 * Checking markers and deleting must not interleave with a marker being
 * written, or a sweeper could read "no marker", then a pull could register
 * and find its blob, then the sweeper could delete it. Both sides therefore
 * hold the repo folder's sweep lock: a pull only while it writes its marker,
 * a sweeper while it scans, reads markers and deletes. Whatever a pull finds
 * on disk after registering is then safe until it removes its marker.
 */

export interface PullMarker {
  format: 'hearth-pull';
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
}

/** A marker from another host cannot be checked for liveness; it is trusted for this long. */
const FOREIGN_MARKER_TTL_MS = 24 * 3600_000;
const MARKER_SUFFIX = '.hearth-pull';

/** Beside the download locks; no folder of their own, so a finished pull leaves `.locks/<repo folder>/` as it found it. */
function markerDir(dir: RepoDir): string {
  return join(dir.parent, '.locks', dir.id);
}

function sweepLockPath(dir: RepoDir): string {
  return lockPath(dir, 'sweep');
}

/**
 * Registers a publisher of `blobs` into `dir`; returns the function that
 * unregisters it. A cache whose `.locks` cannot be written cannot be swept
 * either, so then the pull goes on without a marker (with a warning).
 */
export async function registerPull(
  dir: RepoDir,
  blobs: string[] | undefined,
  ctx: { logger: Logger; signal?: AbortSignal | undefined },
): Promise<() => Promise<void>> {
  const path = join(markerDir(dir), `${process.pid}-${randomBytes(4).toString('hex')}${MARKER_SUFFIX}`);
  const marker: PullMarker = { format: 'hearth-pull', host: hostname(), pid: process.pid, startedAt: new Date().toISOString(), blobs };
  let release: (() => Promise<void>) | undefined;
  try {
    release = await lockSweep(dir, ctx);
    await writeFileAtomic(path, JSON.stringify(marker));
  } catch (error) {
    if (error instanceof HearthError && error.code === 'ABORTED') throw error;
    if (!isUnwritable(error)) throw error;
    ctx.logger.warn({ dir: dir.root, err: (error as Error).message }, 'cannot register the pull for gc; the cache is not writable');
    return async () => undefined;
  } finally {
    await release?.().catch(() => undefined);
  }
  return async () => {
    await unlink(path).catch(() => undefined);
  };
}

/**
 * Runs `sweep` while holding the repo folder's sweep lock, so that no pull
 * registers in between (see the module comment). Throws when the lock cannot
 * be taken: sweeping without it could delete what a pull is about to link.
 */
export async function withSweepLock<T>(dir: RepoDir, ctx: { logger: Logger; signal?: AbortSignal | undefined }, sweep: () => Promise<T>): Promise<T> {
  const release = await lockSweep(dir, ctx);
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
 * held for a marker write or one folder's sweep).
 */
async function lockSweep(dir: RepoDir, ctx: { logger: Logger; signal?: AbortSignal | undefined }): Promise<() => Promise<void>> {
  const path = sweepLockPath(dir);
  const before = localHolders.get(path) ?? Promise.resolve();
  let done!: () => void;
  const mine = new Promise<void>((resolve) => (done = resolve));
  const queued = before.then(() => mine);
  localHolders.set(path, queued);
  const leave = () => {
    done();
    if (localHolders.get(path) === queued) localHolders.delete(path);
  };
  try {
    await raceAbort(before, ctx.signal);
    const release = await acquireDownloadLock(path, { logger: ctx.logger, signal: ctx.signal, isDone: async () => false, required: true, pollMs: 25 });
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
 * What live publishers protect in `dir`. Markers of dead processes on this
 * host are ignored, and removed when `clean` is set (a sweeper that holds the lock).
 */
export async function protectedBlobs(dir: RepoDir, options: { clean: boolean; logger: Logger }): Promise<Protection> {
  const protection: Protection = { all: false, digests: new Set() };
  const root = markerDir(dir);
  for (const name of await readdir(root).catch(() => [] as string[])) {
    if (!name.endsWith(MARKER_SUFFIX)) continue;
    const path = join(root, name);
    const marker = await readMarker(path);
    if (marker === 'gone') continue;
    if (marker === undefined || !(await isLive(marker, path))) {
      // Unreadable or dead: its writer is gone, as a half-written marker is never renamed into place.
      if (options.clean) {
        await unlink(path).catch(() => undefined);
        options.logger.info({ marker: path }, 'removed the marker of a pull that is no longer running');
      }
      continue;
    }
    if (marker.blobs === undefined) protection.all = true;
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
      marker?.format === 'hearth-pull' &&
      typeof marker.host === 'string' &&
      Number.isSafeInteger(marker.pid) &&
      (marker.blobs === undefined || (Array.isArray(marker.blobs) && marker.blobs.every((b) => typeof b === 'string')));
    return wellFormed ? marker : undefined;
  } catch {
    return undefined;
  }
}

async function isLive(marker: PullMarker, path: string): Promise<boolean> {
  if (marker.host !== hostname()) {
    const info = await stat(path).catch(() => undefined);
    return info !== undefined && Date.now() - info.mtimeMs < FOREIGN_MARKER_TTL_MS;
  }
  if (marker.pid === process.pid) return true;
  try {
    process.kill(marker.pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
