import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import { HearthError, throwIfAborted } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import { errnoOf, pathExists } from './fs-utils.js';
import { blobPath, lockPath, parsePartialName, repoDir, urlNamespace, type RepoDir } from './layout.js';
import { isProtected, protectedBlobs, takeSweepLock } from './pull-markers.js';
import { Records } from './records.js';
import { repoFolders, scanRepo, type ScannedRepo } from './scan.js';

export interface GcItem {
  path: string;
  bytes: number;
  reason: 'unreferenced-blob' | 'stale-partial' | 'old-quarantine' | 'stale-record';
}

export interface GcReport {
  dryRun: boolean;
  graceMs: number;
  removed: GcItem[];
  freedBytes: number;
}

interface GcContext {
  hubCache: string;
  home: string;
  graceMs: number;
  dryRun: boolean;
  logger: Logger;
  signal?: AbortSignal | undefined;
}

type Completions = Awaited<ReturnType<Records['listCompletions']>>;

/** What gc removed so far, by kind; the report lists stale records first, as it always has. */
interface Removed {
  records: GcItem[];
  folders: GcItem[];
  quarantine: GcItem[];
}

/**
 * Mark and sweep, one repo folder at a time. Marked: every blob a snapshot
 * links to, every blob a completed selection's record names while its
 * snapshot exists (which covers snapshots made of copies where symlinks
 * fail), and every blob a pull in progress is about to link (its marker, see
 * pull-markers.ts). Swept: unmarked blobs, partial downloads and temp files,
 * quarantined blobs, and completion records whose snapshot is gone, once
 * older than the grace period. A folder is scanned and swept while holding
 * its sweep lock, and its completion records are read then too, so a pull
 * that registers its marker either is seen by the sweep or starts after it,
 * and a pull that completed before the lock was taken is seen by its record;
 * the grace period is then a courtesy to tools that leave no marker
 * (huggingface_hub), not what keeps hearth's pulls correct.
 *
 * A folder whose lock cannot be taken is skipped with a warning; any other
 * failure ends gc with an error that lists what was removed before it.
 * Never runs on its own; only `hearth gc` calls it.
 */
export async function collectGarbage(ctx: GcContext): Promise<GcReport> {
  const cutoff = Date.now() - ctx.graceMs;
  const records = new Records(ctx.home);
  const removed: Removed = { records: [], folders: [], quarantine: [] };
  const report = (): GcReport => {
    const items = [...removed.records, ...removed.folders, ...removed.quarantine];
    return { dryRun: ctx.dryRun, graceMs: ctx.graceMs, removed: items, freedBytes: items.reduce((n, i) => n + i.bytes, 0) };
  };
  try {
    const seen = new Set<string>();
    for (const dir of await repoFolders(ctx.hubCache, ctx.home)) {
      throwIfAborted(ctx.signal);
      // Whether swept or skipped, its records are its sweep's business: never called stale from outside its lock.
      seen.add(dir.id);
      // A dry run writes nothing, so it takes no lock; its report may be a little stale.
      const release = ctx.dryRun ? undefined : await lockOrSkip(dir, ctx);
      if (release === null) continue;
      try {
        await sweepFolder(dir, records, cutoff, ctx, removed);
      } finally {
        await release?.().catch(() => undefined);
      }
    }
    // Records of repo folders that are gone altogether (deleted by hand, or by another tool).
    const orphans = (await records.listCompletions()).filter((c) => !seen.has(c.dirId));
    await removeEach(await staleRecords(orphans, undefined, cutoff, ctx), ctx, removed.records);
    await removeEach(await oldQuarantine(join(ctx.home, 'quarantine'), cutoff), ctx, removed.quarantine);
  } catch (error) {
    throw partial(error, report());
  }
  return report();
}

/** The folder's sweep lock, or null when it cannot be taken (then the folder is skipped); an abort is never a lock failure. */
async function lockOrSkip(dir: RepoDir, ctx: GcContext): Promise<(() => Promise<void>) | null> {
  try {
    return await takeSweepLock(dir, { logger: ctx.logger, signal: ctx.signal });
  } catch (error) {
    if (ctx.signal?.aborted) throw error;
    ctx.logger.warn({ dir: dir.root, err: (error as Error).message }, 'gc skipped a repo folder it cannot lock');
    return null;
  }
}

/** One folder, under its sweep lock: what it holds and what its records say are read now, not before the lock. */
async function sweepFolder(dir: RepoDir, records: Records, cutoff: number, ctx: GcContext, removed: Removed): Promise<void> {
  const repo = await scanRepo(dir);
  const completions = await records.listCompletions(dir.id);
  const items = await sweepRepo(repo, completions, cutoff, ctx);
  await removeEach(await staleRecords(completions, repo, cutoff, ctx), ctx, removed.records);
  await removeEach(items, ctx, removed.folders);
}

async function sweepRepo(repo: ScannedRepo, completions: Completions, cutoff: number, ctx: GcContext): Promise<GcItem[]> {
  const items: GcItem[] = [];
  const recorded = completions.filter((c) => repo.snapshots.has(c.record.commit)).flatMap((c) => c.record.files.map((f) => f.digest));
  const marked = new Set<string | undefined>([...[...repo.snapshots.values()].flat().map((f) => f.digest), ...recorded]);
  const pulling = await protectedBlobs(repo.dir, { clean: !ctx.dryRun, logger: ctx.logger });
  for (const blob of repo.blobs) {
    if (marked.has(blob.digest) || isProtected(pulling, blob.digest) || blob.mtimeMs >= cutoff) continue;
    items.push({ path: blobPath(repo.dir, blob.digest), bytes: blob.size, reason: 'unreferenced-blob' });
  }
  for (const leftover of repo.leftovers) {
    if (leftover.mtimeMs < cutoff && !(await downloadInProgress(repo, leftover.path))) {
      items.push({ path: leftover.path, bytes: leftover.size, reason: 'stale-partial' });
    }
  }
  return items;
}

/**
 * Completion records whose snapshot is gone, older than the grace period.
 * `repo` is the folder as scanned under its lock. Without one (the folder
 * was not there when gc listed the cache), the snapshot is looked for again
 * now, in case a pull has made it since.
 */
async function staleRecords(completions: Completions, repo: ScannedRepo | undefined, cutoff: number, ctx: GcContext): Promise<GcItem[]> {
  const items: GcItem[] = [];
  for (const { dirId, record, path } of completions) {
    const exists = repo ? repo.snapshots.has(record.commit) : await pathExists(join(folderOf(dirId, ctx).snapshots, record.commit));
    if (exists) continue;
    const info = await stat(path).catch(() => undefined);
    if (info && info.mtimeMs < cutoff) items.push({ path, bytes: info.size, reason: 'stale-record' });
  }
  return items;
}

/** The repo folder a record's folder id names: the hub cache's, or hearth's URL namespace's. */
function folderOf(dirId: string, ctx: GcContext): RepoDir {
  return repoDir(dirId.startsWith('urls--') ? urlNamespace(ctx.home) : ctx.hubCache, dirId);
}

/** Removes each item and adds it to `into` once it is gone, so a failure part-way still reports what went before it. */
async function removeEach(items: GcItem[], ctx: GcContext, into: GcItem[]): Promise<void> {
  for (const item of items) {
    if (!ctx.dryRun) {
      throwIfAborted(ctx.signal);
      await rm(item.path, { force: true, recursive: true });
      ctx.logger.info(item, 'gc removed');
    }
    into.push(item);
  }
}

/** A failure part-way, as a typed error that says what gc had already removed. */
function partial(error: unknown, report: GcReport): unknown {
  if (report.removed.length === 0 || report.dryRun) return error;
  const what = `gc removed ${report.removed.length} items (${report.freedBytes} bytes) before it stopped`;
  const details = { removed: report.removed, freedBytes: report.freedBytes };
  if (error instanceof HearthError) return new HearthError(error.code, `${error.message} (${what})`, { cause: error, details: { ...error.details, ...details }, hint: error.hint });
  const errno = errnoOf(error);
  return new HearthError(errno ? 'IO_ERROR' : 'INTERNAL', `${what}: ${(error as Error).message}`, { cause: error, details: { ...details, errno } });
}

/** A partial whose download lock is held belongs to a live process, however old its mtime. */
async function downloadInProgress(repo: ScannedRepo, path: string): Promise<boolean> {
  const parsed = parsePartialName(path.slice(path.lastIndexOf('/') + 1));
  if (!parsed) return false;
  return lockfile.check(lockPath(repo.dir, parsed.etag), { realpath: false, lockfilePath: lockPath(repo.dir, parsed.etag), stale: 15_000 }).catch(() => false);
}

async function oldQuarantine(root: string, cutoff: number): Promise<GcItem[]> {
  const items: GcItem[] = [];
  for (const dir of await readdir(root).catch(() => [] as string[])) {
    for (const name of await readdir(join(root, dir)).catch(() => [] as string[])) {
      const path = join(root, dir, name);
      const info = await stat(path).catch(() => undefined);
      if (info && info.mtimeMs < cutoff) items.push({ path, bytes: info.size, reason: 'old-quarantine' });
    }
  }
  return items;
}
