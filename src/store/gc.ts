import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import type { Logger } from '../log/logger.js';
import { blobPath, lockPath, parsePartialName } from './layout.js';
import { Records } from './records.js';
import { scanHubCache, scanUrlNamespace, type ScannedRepo } from './scan.js';

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
 * Mark and sweep. Marked: every blob a snapshot links to, and every blob a
 * completed selection's record names while its snapshot exists (which covers
 * snapshots made of copies where symlinks fail). Swept: unmarked blobs,
 * partial downloads and temp files, quarantined blobs, and completion records
 * whose snapshot is gone, once older than the grace period — so a pull that
 * has renamed its blobs but not yet linked them, or a download another
 * process is resuming, is never touched. (A multi-file pull refreshes its
 * blobs' mtimes just before linking, in case it took longer than the grace.)
 * Never runs on its own; only `hearth gc` calls it.
 */
export async function collectGarbage(ctx: GcContext): Promise<GcReport> {
  const cutoff = Date.now() - ctx.graceMs;
  const removed: GcItem[] = [];
  const repos = [...(await scanHubCache(ctx.hubCache)), ...(await scanUrlNamespace(ctx.home))];
  const records = new Records(ctx.home);
  const completions = await records.listCompletions();
  for (const { dirId, record, path } of completions) {
    const alive = repos.some((r) => r.dir.id === dirId && r.snapshots.has(record.commit));
    const info = alive ? undefined : await stat(path).catch(() => undefined);
    if (info && info.mtimeMs < cutoff) removed.push({ path, bytes: info.size, reason: 'stale-record' });
  }
  for (const repo of repos) {
    const recorded = completions.filter((c) => c.dirId === repo.dir.id && repo.snapshots.has(c.record.commit)).flatMap((c) => c.record.files.map((f) => f.digest));
    const marked = new Set<string | undefined>([...[...repo.snapshots.values()].flat().map((f) => f.digest), ...recorded]);
    for (const blob of repo.blobs) {
      if (!marked.has(blob.digest) && blob.mtimeMs < cutoff) {
        removed.push({ path: blobPath(repo.dir, blob.digest), bytes: blob.size, reason: 'unreferenced-blob' });
      }
    }
    for (const leftover of repo.leftovers) {
      if (leftover.mtimeMs < cutoff && !(await downloadInProgress(repo, leftover.path))) {
        removed.push({ path: leftover.path, bytes: leftover.size, reason: 'stale-partial' });
      }
    }
  }
  removed.push(...(await oldQuarantine(join(ctx.home, 'quarantine'), cutoff)));
  if (!ctx.dryRun) {
    for (const item of removed) {
      await rm(item.path, { force: true, recursive: true });
      ctx.logger.info(item, 'gc removed');
    }
  }
  return { dryRun: ctx.dryRun, graceMs: ctx.graceMs, removed, freedBytes: removed.reduce((n, i) => n + i.bytes, 0) };
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


