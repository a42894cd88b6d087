import type { Stats } from 'node:fs';
import { stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { HearthError, throwIfAborted } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import { resolveCached } from './cache-resolve.js';
import { digestKind, hashFile, sha256File } from './digest.js';
import { moveFile } from './fs-utils.js';
import { blobPath, hubRepoDir, urlRepoDir } from './layout.js';
import { recordedFiles } from './local.js';
import { stampOf, type LocalRecord, type Records } from './records.js';
import type { ModelRef } from './ref.js';
import { scanHubCache, scanRepo, scanUrlNamespace, type ScannedRepo } from './scan.js';
import type { PullResult } from './types.js';

/** `missing`: snapshot links lead to a blob that is not there (the model does not resolve). */
export type VerifyStatus = 'ok' | 'corrupt' | 'missing' | 'repaired' | 'quarantined';

export interface VerifyItem {
  /** Repo id, URL or local path. */
  source: string;
  /** The model the file belongs to, as a ref: `hf:<owner>/<repo>`, the URL, or the local path. */
  model: string;
  /** The file's paths inside the model (repo-relative); empty for a blob no snapshot links to. */
  files: string[];
  digest: string;
  /** Where the bytes are on disk. */
  path: string;
  size: number;
  status: VerifyStatus;
  detail?: string;
}

export interface VerifyReport {
  items: VerifyItem[];
  /** Items still corrupt or missing after the run (repair not asked for, or impossible). */
  failed: number;
}

interface VerifyContext {
  hubCache: string;
  home: string;
  records: Records;
  logger: Logger;
  offline: boolean;
  repair: boolean;
  signal: AbortSignal;
  pull: (ref: string) => Promise<PullResult>;
}

/**
 * Re-hashes stored blobs against their names, offline. With `repair`, a
 * corrupt blob is moved to quarantine (never deleted: it is evidence) and,
 * when online, downloaded again for every snapshot that links to it.
 */
export async function verifyStore(ref: ModelRef | undefined, ctx: VerifyContext): Promise<VerifyReport> {
  const items: VerifyItem[] = [];
  if (ref?.kind === 'local' || ref === undefined) {
    const locals = ref ? [await ctx.records.local(ref.path)] : await ctx.records.listLocal();
    if (ref && !locals[0]) throw new HearthError('NOT_CACHED', `${ref.text} is not registered`, { details: { ref: ref.text } });
    for (const local of locals) if (local) items.push(...(await verifyLocal(local, ctx)));
  }
  if (ref?.kind !== 'local') {
    for (const { repo, digests } of await targets(ref, ctx)) {
      const checked: VerifyItem[] = [];
      for (const digest of digests) checked.push(await verifyBlob(repo, digest, ctx));
      // By path in the repo, so a model's files read in order; blobs no snapshot links to last.
      items.push(...checked.sort((a, b) => (a.files[0] ?? '\uffff').localeCompare(b.files[0] ?? '\uffff')));
    }
  }
  return { items, failed: items.filter((i) => i.status === 'corrupt' || i.status === 'missing' || i.status === 'quarantined').length };
}

/** Every blob of a repo folder, and every blob its snapshot links name but that is not there. */
function allDigests(repo: ScannedRepo): string[] {
  const present = repo.blobs.map((b) => b.digest);
  const dangling = [...repo.snapshots.values()].flat().filter((f) => f.digest !== undefined && f.size === undefined).map((f) => f.digest!);
  return [...new Set([...present, ...dangling])];
}

async function targets(ref: ModelRef | undefined, ctx: VerifyContext): Promise<Array<{ repo: ScannedRepo; digests: string[] }>> {
  if (ref === undefined) {
    const repos = [...(await scanHubCache(ctx.hubCache)), ...(await scanUrlNamespace(ctx.home))];
    return repos.map((repo) => ({ repo, digests: allDigests(repo) }));
  }
  if (ref.kind === 'local') return [];
  const dir = ref.kind === 'url' ? urlRepoDir(ctx.home, ref.url) : hubRepoDir(ctx.hubCache, ref.repo);
  const repo = await scanRepo(dir);
  if (ref.kind === 'hf-repo') return [{ repo, digests: allDigests(repo) }];
  const model = await resolveCached(ref, ctx);
  // A model whose blob is missing still has its links; verify what they point at.
  const digests = model?.files.map((f) => f.digest) ?? [...repo.snapshots.values()].flat().filter((f) => ref.kind !== 'hf-file' || f.path === ref.path).map((f) => f.digest);
  const present = digests.filter((d): d is string => d !== undefined);
  if (present.length === 0) throw new HearthError('NOT_CACHED', `${ref.text} is not in the store`, { details: { ref: ref.text } });
  return [{ repo, digests: [...new Set(present)] }];
}

async function verifyBlob(repo: ScannedRepo, digest: string, ctx: VerifyContext): Promise<VerifyItem> {
  throwIfAborted(ctx.signal);
  const path = blobPath(repo.dir, digest);
  const source = repo.repo ?? repo.url ?? repo.dir.id;
  const info = await stat(path).catch(() => undefined);
  const files = [...new Set([...repo.snapshots.values()].flat().filter((f) => f.digest === digest).map((f) => f.path))].sort();
  const base = { source, model: repo.repo ? `hf:${repo.repo}` : source, files, digest, path, size: info?.size ?? 0 };
  const actual = info ? (await hashFile(path, digestKind(digest)!, { size: info.size, signal: ctx.signal })).digest : undefined;
  if (actual === digest) {
    await noteVerified(digest, info!, ctx);
    return { ...base, status: 'ok' };
  }
  const status = actual ? 'corrupt' : 'missing';
  const detail = actual ? `content hashes to ${actual}` : `blob is missing: ${files.length === 1 ? 'its snapshot link dangles' : 'its snapshot links dangle'}`;
  ctx.logger.warn({ source, digest, files, detail }, actual ? 'corrupt blob' : 'missing blob');
  if (!ctx.repair) return { ...base, status, detail };
  if (info) await quarantine(path, join(ctx.home, 'quarantine', repo.dir.id, `${digest}.${Date.now()}`));
  if (ctx.offline) {
    return info
      ? { ...base, status: 'quarantined', detail: `${detail}; moved to quarantine, pull again when online` }
      : { ...base, status, detail: `${detail}; pull again when online` };
  }
  for (const ref of refsLinking(repo, digest)) await ctx.pull(ref);
  const again = await hashFile(path, digestKind(digest)!, { signal: ctx.signal }).catch(() => undefined);
  if (again?.digest !== digest) return { ...base, status, detail: `${detail}; re-download did not restore it` };
  const restored = await stat(path).catch(() => undefined);
  if (restored) await noteVerified(digest, restored, ctx);
  return { ...base, size: again.size, status: 'repaired', detail };
}

/** Bookkeeping after a successful hash: when, and the stamp integrity checks compare against. */
async function noteVerified(digest: string, info: Stats, ctx: VerifyContext): Promise<void> {
  await ctx.records.noteBlob(digest, { verifiedAt: new Date().toISOString(), verifiedStamp: stampOf(info) });
}

/** Refs pinned to the exact commits whose snapshots link to a blob, for re-download. */
function refsLinking(repo: ScannedRepo, digest: string): string[] {
  if (!repo.repo) return repo.url ? [repo.url] : [];
  const refs: string[] = [];
  for (const [commit, files] of repo.snapshots) {
    for (const file of files) if (file.digest === digest) refs.push(`hf:${repo.repo}/${file.path}@${commit}`);
  }
  return refs;
}

/** Re-hashes a registered file, or every selected file of a registered directory; never touches them otherwise. */
async function verifyLocal(record: LocalRecord, ctx: VerifyContext): Promise<VerifyItem[]> {
  const items: VerifyItem[] = [];
  for (const file of recordedFiles(record)) {
    throwIfAborted(ctx.signal);
    const info = await stat(file.localPath).catch(() => undefined);
    const base = { source: record.path, model: record.path, files: [file.path], digest: file.digest!, path: file.localPath, size: info?.size ?? 0 };
    if (!info) {
      items.push({ ...base, status: 'missing', detail: 'file is missing' });
      continue;
    }
    const actual = (await sha256File(file.localPath, { signal: ctx.signal })).digest;
    if (actual !== file.digest) {
      items.push({ ...base, status: 'corrupt', detail: `changed since it was registered (now ${actual}); run hearth pull ${record.path} to register the new content` });
    } else items.push({ ...base, status: 'ok' });
  }
  const current = await ctx.records.local(record.path);
  if (current && items.every((i) => i.status === 'ok')) await ctx.records.noteLocal({ ...current, verifiedAt: new Date().toISOString() });
  return items;
}

/** Moves a blob aside, dated now so that gc's grace period starts from the move. */
async function quarantine(from: string, to: string): Promise<void> {
  await moveFile(from, to);
  const now = new Date();
  await utimes(to, now, now);
}
