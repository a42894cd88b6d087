import { createHash } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { HearthError, isHearthError, throwIfAborted } from '../errors/index.js';
import type { SingleFlight } from '../lifecycle/single-flight.js';
import type { Logger } from '../log/logger.js';
import { notCachedError, resolveCached, type CacheLocation } from './cache-resolve.js';
import { sha256File } from './digest.js';
import { downloadBlob, type BlobSource, type DownloadResult } from './download.js';
import { linkOrCopy, writeFileAtomic } from './fs-utils.js';
import type { HubClient } from './hub-client.js';
import { blobLinkTarget, hubRepoDir, refPath, snapshotPath, urlRepoDir, type RepoDir } from './layout.js';
import { selectQuantFiles } from './quant.js';
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

/** Pulls a reference: cached files are reused, missing ones downloaded and published. */
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
  const paths = await filesToPull(ref, ctx);
  // Resolve the first file at the requested revision, the rest at the commit it names,
  // so a push that lands mid-pull cannot mix two commits in one snapshot.
  const head = (revision: string, path: string) => retrying(ctx, `metadata of ${ref.repo}/${path}`, () => ctx.client.fileMetadata(ref.repo, revision, path, ctx.signal));
  const first = await head(ref.revision, paths[0]!);
  const metas = [first, ...(await Promise.all(paths.slice(1).map((p) => head(first.commit, p))))];
  await mkdir(dir.blobs, { recursive: true });
  const files: StoredFile[] = [];
  let received = 0;
  for (const [i, meta] of metas.entries()) {
    const path = paths[i]!;
    const source: BlobSource = {
      location: meta.location,
      kind: meta.etag.length === 64 ? 'sha256' : 'git-sha1',
      expected: meta.etag,
      key: meta.etag,
      size: meta.size,
      label: `${ref.repo}/${path}`,
    };
    const result = await fetchShared(dir, source, path, ref.text, ctx);
    await linkOrCopy(snapshotPath(dir, first.commit, path), blobLinkTarget(dir, first.commit, path, result.digest));
    files.push({ path, localPath: snapshotPath(dir, first.commit, path), digest: result.digest, size: result.size });
    received += result.received;
  }
  // The ref is written last: until then, readers keep resolving the previous commit.
  if (!isCommitHash(ref.revision)) await writeFileAtomic(refPath(dir, ref.revision), first.commit);
  ctx.emit({ status: 'success', ref: ref.text });
  const model: ResolvedModel = { ref: ref.text, kind: 'hub', repo: ref.repo, revision: ref.revision, commit: first.commit, files, primary: files[0]! };
  await touch(model, ctx);
  return { ...model, received, upToDate: received === 0 };
}

async function filesToPull(ref: HubRef, ctx: PullContext): Promise<string[]> {
  if (ref.kind === 'hf-file') return [ref.path];
  if (ref.kind === 'hf-repo') {
    throw new HearthError('REF_INVALID', `${ref.text} names a whole repository; name a file (hf:${ref.repo}/<file>) or a quant (hf:${ref.repo}:Q4_K_M)`, {
      details: { ref: ref.text },
    });
  }
  const listing = await retrying(ctx, `listing of ${ref.repo}`, () => ctx.client.listFiles(ref.repo, ref.revision, ctx.signal));
  return selectQuantFiles(listing.map((e) => e.path), ref.quant, ref.text);
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

/** Local files are hashed and recorded where they are; they are never copied or moved. */
export async function registerLocal(path: string, ctx: Pick<PullContext, 'records' | 'signal' | 'emit'>): Promise<PullResult> {
  const info = await stat(path).catch((error: unknown) => {
    throw new HearthError('MODEL_NOT_FOUND', `local model file not found: ${path}`, { cause: error, details: { path } });
  });
  if (!info.isFile()) throw new HearthError('REF_INVALID', `${path} is not a regular file`, { details: { path } });
  let record = await ctx.records.local(path);
  if (!record || record.size !== info.size || record.mtimeMs !== info.mtimeMs) {
    const { digest } = await sha256File(path, { signal: ctx.signal });
    const now = new Date().toISOString();
    record = { path, size: info.size, mtimeMs: info.mtimeMs, digest, registeredAt: record?.registeredAt ?? now, verifiedAt: now };
  }
  record.lastUsedAt = new Date().toISOString();
  await ctx.records.putLocal(record);
  const file: StoredFile = { path: basename(path), localPath: path, digest: record.digest, size: info.size };
  ctx.emit({ status: 'success', ref: path });
  return { ref: path, kind: 'local', files: [file], primary: file, received: 0, upToDate: true };
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
