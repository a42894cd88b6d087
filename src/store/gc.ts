import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import lockfile from 'proper-lockfile';
import type { Logger } from '../log/logger.js';
import { blobPath, lockPath, parsePartialName } from './layout.js';
import { scanHubCache, scanUrlNamespace, type ScannedRepo } from './scan.js';

export interface GcItem {
  path: string;
  bytes: number;
  reason: 'unreferenced-blob' | 'stale-partial' | 'old-quarantine';
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
 * Mark and sweep. Marked: every blob a snapshot links to. Swept: unmarked
 * blobs, partial downloads and temp files, and quarantined blobs, once older
 * than the grace period — so a pull that has renamed its blob but not yet
 * linked it, or a download another process is resuming, is never touched.
 * Never runs on its own; only `hearth gc` calls it.
 */
export async function collectGarbage(ctx: GcContext): Promise<GcReport> {
  const cutoff = Date.now() - ctx.graceMs;
  const removed: GcItem[] = [];
  const repos = [...(await scanHubCache(ctx.hubCache)), ...(await scanUrlNamespace(ctx.home))];
  for (const repo of repos) {
    const marked = new Set([...repo.snapshots.values()].flat().map((f) => f.digest));
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


