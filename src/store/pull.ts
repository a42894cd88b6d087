import { createHash } from 'node:crypto';
import { mkdir, utimes } from 'node:fs/promises';
import { isHearthError, throwIfAborted } from '../errors/index.js';
import type { SingleFlight } from '../lifecycle/single-flight.js';
import type { Logger } from '../log/logger.js';
import { notCachedError, resolveCached, type CacheLocation } from './cache-resolve.js';
import { downloadBlob, type BlobSource, type DownloadResult } from './download.js';
import { linkOrCopy, pathExists, writeFileAtomic } from './fs-utils.js';
import type { FileMetadata, HubClient } from './hub-client.js';
import { blobLinkTarget, hubRepoDir, refPath, snapshotPath, urlRepoDir, type RepoDir } from './layout.js';
import { registerLocal } from './local.js';
import { selectModelFiles, type ModelSelection } from './model-files.js';
import type { Records } from './records.js';
import { isCommitHash, type HubRef, type ModelRef } from './ref.js';
import { withRetry } from './retry.js';
import { URL_SOURCE_FILE } from './scan.js';
import type { PullEvent, PullResult, ResolvedModel, StoredFile } from './types.js';

export interface PullContext extends CacheLocation {
  client: HubClient;
  records: Records;
  logger: Logger;
  offline: boolean;
  retries: number;
  idleTimeoutMs: number;
  reserveBytes: number;
  /** Shared in-process downloads, keyed by repo folder and blob. */
  flights: SingleFlight<string, DownloadResult>;
  signal?: AbortSignal | undefined;
  emit: (event: PullEvent) => void;
}

/**
 * Pulls a reference: cached files are reused, missing ones downloaded and
 * published. A multi-file model is complete or absent: all its blobs are
 * downloaded and verified first, then linked, then recorded as complete,
 * and the ref moves last — so a crash at any point (kill -9 included) leaves
 * the previous state resolvable and the new one invisible, with the blobs
 * already fetched kept for the next pull.
 */
export async function pullRef(ref: ModelRef, ctx: PullContext): Promise<PullResult> {
  throwIfAborted(ctx.signal);
  ctx.emit({ status: 'resolving', ref: ref.text });
  if (ref.kind === 'local') return registerLocal(ref.path, ctx);
  const cached = await resolveCached(ref, ctx);
  if (ctx.offline) {
    if (!cached) throw notCachedError(ref, ctx, true);
    return upToDate(cached, ctx);
  }
  // A commit or a pinned digest names immutable content: a cached copy is final.
  if (cached && (('revision' in ref && isCommitHash(ref.revision)) || (ref.kind === 'url' && ref.sha256))) return upToDate(cached, ctx);
  try {
    return ref.kind === 'url' ? await pullUrl(ref, ctx) : await pullHub(ref, ctx);
  } catch (error) {
    // Like huggingface_hub: when the hub cannot be reached, a cached snapshot still serves.
    if (cached && isHearthError(error, 'HUB_UNAVAILABLE')) {
      ctx.logger.warn({ ref: ref.text, err: error.message }, 'hub unreachable; using the cached copy');
      return upToDate(cached, ctx);
    }
    throw error;
  }
}

async function pullHub(ref: HubRef, ctx: PullContext): Promise<PullResult> {
  const dir = hubRepoDir(ctx.hubCache, ref.repo);
  const { commit, paths, metas, selection } = await planHubPull(ref, ctx);
  await mkdir(dir.blobs, { recursive: true });
  // 1. Every blob, downloaded and verified. Nothing is visible yet.
  const sources = metas.map((meta, i) => blobSource(meta, `${ref.repo}/${paths[i]}`));
  const blobs: DownloadResult[] = [];
  let received = 0;
  for (const [i, source] of sources.entries()) {
    const result = await fetchShared(dir, source, paths[i]!, ref.text, ctx);
    blobs.push(result);
    received += result.received;
  }
  received += await keepBlobs(dir, sources, paths, blobs, ref.text, ctx);
  // 2. The snapshot links, the primary file last (see cache-resolve.ts on foreign snapshots).
  for (let i = paths.length - 1; i >= 0; i--) {
    await linkOrCopy(snapshotPath(dir, commit, paths[i]!), blobLinkTarget(dir, commit, paths[i]!, blobs[i]!.digest));
  }
  const files: StoredFile[] = paths.map((path, i) => ({ path, localPath: snapshotPath(dir, commit, path), digest: blobs[i]!.digest, size: blobs[i]!.size }));
  // 3. The completion record, for multi-file selections.
  if (selection) {
    await ctx.records.putCompletion(dir.id, {
      format: 'hearth-snapshot',
      version: 1,
      repo: ref.repo,
      commit,
      tag: ref.kind === 'hf-quant' ? ref.quant : undefined,
      kind: selection.format,
      files: files.map((f) => ({ path: f.path, digest: f.digest!, size: f.size })),
      completedAt: new Date().toISOString(),
    });
  }
  // 4. The ref, last: until then, readers keep resolving the previous commit.
  if (!isCommitHash(ref.revision)) await writeFileAtomic(refPath(dir, ref.revision), commit);
  ctx.emit({ status: 'success', ref: ref.text });
  const model: ResolvedModel = { ref: ref.text, kind: 'hub', repo: ref.repo, revision: ref.revision, commit, files, primary: files[0]! };
  await touch(model, ctx);
  return { ...model, received, upToDate: received === 0 };
}

interface HubPlan {
  commit: string;
  paths: string[];
  metas: FileMetadata[];
  selection: ModelSelection | undefined;
}

/**
 * Which files, at which commit. The first file is resolved at the requested
 * revision and the rest at the commit it names, so a push that lands mid-pull
 * cannot mix two commits in one snapshot; a listing taken before such a push
 * is taken again at that commit.
 */
async function planHubPull(ref: HubRef, ctx: PullContext): Promise<HubPlan> {
  const head = (revision: string, path: string) => retrying(ctx, `metadata of ${ref.repo}/${path}`, () => ctx.client.fileMetadata(ref.repo, revision, path, ctx.signal));
  const rest = (commit: string, paths: string[]) => Promise.all(paths.map((p) => head(commit, p)));
  if (ref.kind === 'hf-file') {
    const meta = await head(ref.revision, ref.path);
    return { commit: meta.commit, paths: [ref.path], metas: [meta], selection: undefined };
  }
  const tag = ref.kind === 'hf-quant' ? ref.quant : undefined;
  const list = (revision: string) => retrying(ctx, `listing of ${ref.repo}`, () => ctx.client.listTree(ref.repo, revision, ctx.signal));
  let listing = await list(ref.revision);
  let selection = selectModelFiles(listing.files.map((e) => e.path), tag, ref.text);
  let first = await head(ref.revision, selection.primary);
  const listedAt = listing.commit ?? (isCommitHash(ref.revision) ? ref.revision : undefined);
  if (listedAt !== first.commit) {
    listing = await list(first.commit);
    const again = selectModelFiles(listing.files.map((e) => e.path), tag, ref.text);
    if (again.primary !== selection.primary) first = await head(first.commit, again.primary);
    selection = again;
  }
  const metas = [first, ...(await rest(first.commit, selection.files.slice(1)))];
  return { commit: first.commit, paths: selection.files, metas, selection };
}

function blobSource(meta: FileMetadata, label: string): BlobSource {
  return { location: meta.location, kind: meta.etag.length === 64 ? 'sha256' : 'git-sha1', expected: meta.etag, key: meta.etag, size: meta.size, label };
}

/**
 * Before linking, every blob must still be there: a long multi-file pull can
 * outlive gc's grace period for the blobs it fetched first. A blob gc took is
 * fetched again; the others get a fresh mtime, so the grace period starts over.
 */
async function keepBlobs(dir: RepoDir, sources: BlobSource[], paths: string[], blobs: DownloadResult[], ref: string, ctx: PullContext): Promise<number> {
  let received = 0;
  for (const [i, blob] of blobs.entries()) {
    if (await pathExists(blob.path)) {
      const now = new Date();
      await utimes(blob.path, now, now).catch(() => undefined); // a read-only shared cache is fine too
      continue;
    }
    ctx.logger.warn({ blob: blob.path }, 'blob vanished before it was linked; fetching it again');
    blobs[i] = await fetchShared(dir, sources[i]!, paths[i]!, ref, ctx);
    received += blobs[i]!.received;
  }
  return received;
}

async function pullUrl(ref: Extract<ModelRef, { kind: 'url' }>, ctx: PullContext): Promise<PullResult> {
  const dir = urlRepoDir(ctx.home, ref.url);
  await mkdir(dir.blobs, { recursive: true });
  await writeFileAtomic(`${dir.root}/${URL_SOURCE_FILE}`, ref.url);
  const head = await retrying(ctx, ref.url, () => ctx.client.headUrl(ref.url, ctx.signal));
  const expected = ref.sha256 ?? head.sha256;
  const name = fileNameOf(ref.url);
  const source: BlobSource = {
    location: head.location,
    kind: 'sha256',
    expected,
    key: expected ?? createHash('sha256').update(`url:${ref.url}`).digest('hex'),
    size: head.size,
    label: ref.url,
  };
  const result = await fetchShared(dir, source, name, ref.text, ctx);
  const commit = result.digest;
  await linkOrCopy(snapshotPath(dir, commit, name), blobLinkTarget(dir, commit, name, result.digest));
  await writeFileAtomic(refPath(dir, 'main'), commit);
  ctx.emit({ status: 'success', ref: ref.text });
  const file: StoredFile = { path: name, localPath: snapshotPath(dir, commit, name), digest: result.digest, size: result.size };
  const model: ResolvedModel = { ref: ref.text, kind: 'url', commit, files: [file], primary: file };
  await touch(model, ctx);
  return { ...model, received: result.received, upToDate: result.received === 0 };
}

/** One download per blob per process; every caller still gets its own progress events. */
async function fetchShared(dir: RepoDir, source: BlobSource, file: string, ref: string, ctx: PullContext): Promise<DownloadResult> {
  const digest = source.expected ?? source.key;
  const result = await ctx.flights.run(
    `${dir.root}\0${source.key}`,
    (signal) =>
      downloadBlob(dir, source, {
        client: ctx.client,
        logger: ctx.logger,
        retries: ctx.retries,
        idleTimeoutMs: ctx.idleTimeoutMs,
        reserveBytes: ctx.reserveBytes,
        signal,
        onWait: () => ctx.emit({ status: 'waiting', ref, file, digest }),
        onProgress: throttle((completed, total) => ctx.emit({ status: 'downloading', ref, file, digest, total, completed })),
      }),
    ctx.signal,
  );
  if (result.received > 0) {
    await ctx.records.updateBlob(result.digest, { verifiedAt: new Date().toISOString() });
    ctx.emit({ status: 'downloaded', ref, file, digest: result.digest, total: result.size, received: result.received });
  } else {
    ctx.emit({ status: 'cached', ref, file, digest: result.digest, total: result.size });
  }
  return result;
}

async function upToDate(model: ResolvedModel, ctx: PullContext): Promise<PullResult> {
  for (const file of model.files) ctx.emit({ status: 'cached', ref: model.ref, file: file.path, digest: file.digest, total: file.size });
  ctx.emit({ status: 'success', ref: model.ref });
  await touch(model, ctx);
  return { ...model, received: 0, upToDate: true };
}

async function touch(model: ResolvedModel, ctx: Pick<PullContext, 'records'>): Promise<void> {
  const now = new Date().toISOString();
  await Promise.all(model.files.map((f) => (f.digest ? ctx.records.updateBlob(f.digest, { lastUsedAt: now }) : undefined)));
}

function retrying<T>(ctx: PullContext, what: string, attempt: () => Promise<T>): Promise<T> {
  return withRetry(attempt, { retries: ctx.retries, signal: ctx.signal, logger: ctx.logger, what });
}

function fileNameOf(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '').replace(/[^A-Za-z0-9._-]/g, '_');
  return name && name !== '.' && name !== '..' ? name : 'download';
}

/** Progress at most every 100 ms, plus the final byte. */
function throttle(fn: (completed: number, total: number | undefined) => void): (completed: number, total: number | undefined) => void {
  let last = 0;
  return (completed, total) => {
    const now = Date.now();
    if (now - last >= 100 || completed === total) {
      last = now;
      fn(completed, total);
    }
  };
}
