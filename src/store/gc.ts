import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import type { Logger } from '../log/logger.js';
import { blobPath, hubRepoDir, lockPath, parsePartialName, repoDir, repoFromFolder, urlNamespace, type RepoDir } from './layout.js';
import { isProtected, protectedBlobs, withSweepLock } from './pull-markers.js';
import { Records } from './records.js';
import { scanRepo, type ScannedRepo } from './scan.js';

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
}

/**
 * Mark and sweep, one repo folder at a time. Marked: every blob a snapshot
 * links to, every blob a completed selection's record names while its
 * snapshot exists (which covers snapshots made of copies where symlinks
 * fail), and every blob a pull in progress is about to link (its marker, see
 * pull-markers.ts). Swept: unmarked blobs, partial downloads and temp files,
 * quarantined blobs, and completion records whose snapshot is gone, once
 * older than the grace period. A folder is scanned and swept while holding
 * its sweep lock, so a pull that registers its marker either is seen by the
 * sweep or starts after it; the grace period is then a courtesy to tools that
 * leave no marker (huggingface_hub), not what keeps hearth's pulls correct.
 * Never runs on its own; only `hearth gc` calls it.
 */
export async function collectGarbage(ctx: GcContext): Promise<GcReport> {
  const cutoff = Date.now() - ctx.graceMs;
  const removed: GcItem[] = [];
  const records = new Records(ctx.home);
  const completions = await records.listCompletions();
  const live = new Set<string>(); // "<dirId>\0<commit>" of snapshots that exist
  for (const dir of await repoFolders(ctx)) {
    // A dry run writes nothing, so it takes no lock; its report may be a little stale.
    const sweep = async () => {
      const repo = await scanRepo(dir);
      for (const commit of repo.snapshots.keys()) live.add(`${dir.id}\0${commit}`);
      const items = await sweepRepo(repo, completions, cutoff, ctx);
      await remove(items, ctx);
      removed.push(...items);
    };
    try {
      await (ctx.dryRun ? sweep() : withSweepLock(dir, { logger: ctx.logger }, sweep));
    } catch (error) {
      ctx.logger.warn({ dir: dir.root, err: (error as Error).message }, 'gc skipped a repo folder it cannot lock');
      // Its snapshots may exist: never call their completion records stale.
      for (const c of completions) if (c.dirId === dir.id) live.add(`${dir.id}\0${c.record.commit}`);
    }
  }
  const staleRecords: GcItem[] = [];
  for (const { dirId, record, path } of completions) {
    if (live.has(`${dirId}\0${record.commit}`)) continue;
    const info = await stat(path).catch(() => undefined);
    if (info && info.mtimeMs < cutoff) staleRecords.push({ path, bytes: info.size, reason: 'stale-record' });
  }
  const quarantine = await oldQuarantine(join(ctx.home, 'quarantine'), cutoff);
  await remove([...staleRecords, ...quarantine], ctx);
  removed.unshift(...staleRecords);
  removed.push(...quarantine);
  return { dryRun: ctx.dryRun, graceMs: ctx.graceMs, removed, freedBytes: removed.reduce((n, i) => n + i.bytes, 0) };
}

async function sweepRepo(repo: ScannedRepo, completions: Awaited<ReturnType<Records['listCompletions']>>, cutoff: number, ctx: GcContext): Promise<GcItem[]> {
  const items: GcItem[] = [];
  const recorded = completions.filter((c) => c.dirId === repo.dir.id && repo.snapshots.has(c.record.commit)).flatMap((c) => c.record.files.map((f) => f.digest));
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

async function remove(items: GcItem[], ctx: GcContext): Promise<void> {
  if (ctx.dryRun) return;
  for (const item of items) {
    await rm(item.path, { force: true, recursive: true });
    ctx.logger.info(item, 'gc removed');
  }
}

/** Every repo folder of the hub cache (whoever wrote it) and of hearth's URL namespace. */
async function repoFolders(ctx: GcContext): Promise<RepoDir[]> {
  const hub = (await readdir(ctx.hubCache).catch(() => [] as string[])).map(repoFromFolder).filter((r): r is string => r !== undefined);
  const urls = (await readdir(urlNamespace(ctx.home)).catch(() => [] as string[])).filter((n) => n.startsWith('urls--'));
  return [...hub.map((repo) => hubRepoDir(ctx.hubCache, repo)), ...urls.map((id) => repoDir(urlNamespace(ctx.home), id))];
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
