import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { HearthError, isHearthError, throwIfAborted } from '../errors/index.js';
import type { SingleFlight } from '../lifecycle/single-flight.js';
import type { Logger } from '../log/logger.js';
import { notCachedError, resolveCached, type CacheLocation } from './cache-resolve.js';
import { downloadBlob, type BlobSource, type DownloadResult } from './download.js';
import { linkOrCopy, writeFileAtomic } from './fs-utils.js';
import type { FileMetadata, HubClient } from './hub-client.js';
import { blobLinkTarget, hubRepoDir, refPath, snapshotPath, urlRepoDir, type RepoDir } from './layout.js';
import { registerLocal } from './local.js';
import { selectSafeModelFiles, type ModelSelection } from './select-model.js';
import { registerPull } from './pull-markers.js';
import { stampOf, type CompletionRecord, type Records } from './records.js';
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
  connections: number;
  pieceBytes: number;
  /** Shared in-process downloads, keyed by repo folder and blob. */
  flights: SingleFlight<string, DownloadResult>;
  signal?: AbortSignal | undefined;
  emit: (event: PullEvent) => void;
  hooks?: StoreHooks | undefined;
}

/**
 * Points in the publish protocol where an embedder (or a test) can step in.
 * They exist so that races with other processes can be reproduced exactly,
 * instead of by timing.
 */
export interface StoreHooks {
  /** Every blob of a hub pull is in blobs/ and none is linked yet. */
  beforeLink?: (info: { ref: string; repoDir: string; blobs: string[] }) => void | Promise<void>;
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
    return ref.kind === 'url' ? await pullUrl(ref, ctx, cached) : await pullHub(ref, ctx, cached);
  } catch (error) {
    // Like huggingface_hub: when the hub cannot be reached, a cached snapshot still serves.
    if (cached && isHearthError(error, 'HUB_UNAVAILABLE')) {
      ctx.logger.warn({ ref: ref.text, err: error.message }, 'hub unreachable; using the cached copy');
      return upToDate(cached, ctx);
    }
    throw error;
  }
}

async function pullHub(ref: HubRef, ctx: PullContext, cached: ResolvedModel | undefined): Promise<PullResult> {
  const dir = hubRepoDir(ctx.hubCache, ref.repo);
  const { commit, paths, metas, selection } = await planHubPull(ref, ctx);
  // Already there, as the hub describes it: nothing to write, so a read-only cache or home is fine.
  if (cached && (await isPublished(cached, ref, commit, paths, metas, dir, ctx))) return upToDate(cached, ctx);
  // Registered before anything is written into the folder: until then a sweeper may remove it as empty.
  const unregister = await registerPull(dir, metas.map((m) => m.etag), ctx);
  try {
    // 1. Every blob, downloaded and verified. Nothing is visible yet.
    const sources = metas.map((meta, i) => blobSource(meta, `${ref.repo}/${paths[i]}`));
    const blobs: DownloadResult[] = [];
    let received = 0;
    for (const [i, source] of sources.entries()) {
      const result = await fetchShared(dir, source, paths[i]!, ref.text, ctx);
      blobs.push(result);
      received += result.received;
    }
    await ctx.hooks?.beforeLink?.({ ref: ref.text, repoDir: dir.root, blobs: blobs.map((b) => b.path) });
    // 2. The snapshot links, the primary file last (see cache-resolve.ts on foreign snapshots).
    for (let i = paths.length - 1; i >= 0; i--) {
      await linkOrCopy(snapshotPath(dir, commit, paths[i]!), blobLinkTarget(dir, commit, paths[i]!, blobs[i]!.digest));
    }
    received += await ensureLinked(dir, commit, sources, paths, blobs, ref.text, ctx);
    const files: StoredFile[] = paths.map((path, i) => ({ path, localPath: snapshotPath(dir, commit, path), digest: blobs[i]!.digest, size: blobs[i]!.size }));
    // 3. The completion record, for multi-file selections.
    if (selection) {
      await writeCompletion(ref, dir, {
        format: 'hearth-snapshot',
        version: 1,
        repo: ref.repo,
        commit,
        tag: ref.kind === 'hf-quant' ? ref.quant : undefined,
        kind: selection.format,
        files: files.map((f) => ({ path: f.path, digest: f.digest!, size: f.size })),
        completedAt: new Date().toISOString(),
      }, ctx);
    }
    // 4. The ref, last: until then, readers keep resolving the previous commit.
    if (!isCommitHash(ref.revision)) await writeFileAtomic(refPath(dir, ref.revision), commit);
    ctx.emit({ status: 'success', ref: ref.text });
    const model: ResolvedModel = { ref: ref.text, kind: 'hub', repo: ref.repo, revision: ref.revision, commit, files, primary: files[0]! };
    await touch(model, ctx);
    return { ...model, received, upToDate: received === 0, outcome: received === 0 ? 'up-to-date' : 'downloaded' };
  } finally {
    await unregister();
  }
}

/**
 * True when the cached model is exactly what the hub describes: same commit,
 * same files, same blobs, and (for a selection) hearth's completion record
 * already says so. A foreign snapshot goes through the full pull, which
 * records it as complete now that the hub's listing is known.
 */
async function isPublished(cached: ResolvedModel, ref: HubRef, commit: string, paths: string[], metas: FileMetadata[], dir: RepoDir, ctx: PullContext): Promise<boolean> {
  if (cached.commit !== commit || cached.files.length !== paths.length) return false;
  const same = cached.files.every((f, i) => f.path === paths[i] && f.digest === metas[i]!.etag && f.size === metas[i]!.size);
  if (!same) return false;
  if (ref.kind === 'hf-file') return true;
  return (await ctx.records.completion(dir.id, commit, ref.kind === 'hf-quant' ? ref.quant : undefined)) !== undefined;
}

/**
 * The completion record is what lets a reader trust the snapshot (external
 * data included). When hearth's home cannot take it (read-only, full), the
 * pull still succeeds if the snapshot stands on its own, by the rules for
 * foreign snapshots; otherwise the write's error is the pull's.
 */
async function writeCompletion(ref: HubRef, dir: RepoDir, record: CompletionRecord, ctx: PullContext): Promise<void> {
  try {
    await ctx.records.putCompletion(dir.id, record);
  } catch (error) {
    const atCommit = { ...ref, revision: record.commit } as HubRef;
    const alone = await resolveCached(atCommit, ctx).catch(() => undefined);
    const paths = record.files.map((f) => f.path);
    if (!alone || alone.files.length !== paths.length || alone.files.some((f, i) => f.path !== paths[i])) throw error;
    ctx.logger.warn({ ref: ref.text, err: (error as Error).message }, 'cannot write the completion record; the snapshot is complete without it');
  }
}

/** How often the links are checked and mended before a pull gives up on a cache something keeps deleting from. */
const LINK_ROUNDS = 3;

/**
 * Before anything vouches for the snapshot, every link must lead to a blob of
 * the right size. gc honours the pull's marker, but other tools do not (or a
 * person cleaning by hand): a blob that went missing is fetched again and
 * linked again, and a pull never reports success for a model that does not resolve.
 */
async function ensureLinked(dir: RepoDir, commit: string, sources: BlobSource[], paths: string[], blobs: DownloadResult[], ref: string, ctx: PullContext): Promise<number> {
  let received = 0;
  for (let round = 0; ; round++) {
    const broken: number[] = [];
    for (const [i, path] of paths.entries()) {
      const info = await stat(snapshotPath(dir, commit, path)).catch(() => undefined);
      if (!info?.isFile() || info.size !== blobs[i]!.size) broken.push(i);
    }
    if (broken.length === 0) return received;
    const missing = broken.map((i) => paths[i]!);
    if (round >= LINK_ROUNDS) {
      throw new HearthError('IO_ERROR', `${ref}: ${missing.join(', ')} kept vanishing from the cache before the pull could finish`, {
        details: { ref, files: missing, blobs: broken.map((i) => blobs[i]!.path) },
        hint: 'something else is deleting files in the hub cache (another tool\'s cache cleaner?); pull again once it is done',
      });
    }
    ctx.logger.warn({ ref, files: missing }, 'blobs vanished before the snapshot was complete; fetching them again');
    for (const i of broken) {
      blobs[i] = await fetchShared(dir, sources[i]!, paths[i]!, ref, ctx);
      received += blobs[i]!.received;
      await linkOrCopy(snapshotPath(dir, commit, paths[i]!), blobLinkTarget(dir, commit, paths[i]!, blobs[i]!.digest));
    }
  }
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
  let selection = selectSafeModelFiles(listing.files.map((e) => e.path), tag, ref.text);
  let first = await head(ref.revision, selection.primary);
  const listedAt = listing.commit ?? (isCommitHash(ref.revision) ? ref.revision : undefined);
  if (listedAt !== first.commit) {
    listing = await list(first.commit);
    const again = selectSafeModelFiles(listing.files.map((e) => e.path), tag, ref.text);
    if (again.primary !== selection.primary) first = await head(first.commit, again.primary);
    selection = again;
  }
  const metas = [first, ...(await rest(first.commit, selection.files.slice(1)))];
  return { commit: first.commit, paths: selection.files, metas, selection };
}

function blobSource(meta: FileMetadata, label: string): BlobSource {
  return { location: meta.location, kind: meta.etag.length === 64 ? 'sha256' : 'git-sha1', expected: meta.etag, key: meta.etag, size: meta.size, label };
}

async function pullUrl(ref: Extract<ModelRef, { kind: 'url' }>, ctx: PullContext, cached: ResolvedModel | undefined): Promise<PullResult> {
  const dir = urlRepoDir(ctx.home, ref.url);
  const head = await retrying(ctx, ref.url, () => ctx.client.headUrl(ref.url, ctx.signal));
  const expected = ref.sha256 ?? head.sha256;
  // The server vouches for the same content that is cached: nothing to write.
  if (cached && expected !== undefined && cached.commit === expected && (head.size === undefined || cached.primary.size === head.size)) return upToDate(cached, ctx);
  const name = fileNameOf(ref.url);
  const source: BlobSource = {
    location: head.location,
    kind: 'sha256',
    expected,
    key: expected ?? createHash('sha256').update(`url:${ref.url}`).digest('hex'),
    size: head.size,
    label: ref.url,
  };
  // Registered before anything is written into the folder: until then a sweeper may remove it as empty.
  const unregister = await registerPull(dir, expected === undefined ? undefined : [expected], ctx);
  try {
    const sourceFile = `${dir.root}/${URL_SOURCE_FILE}`;
    if ((await readFile(sourceFile, 'utf8').catch(() => undefined)) !== ref.url) await writeFileAtomic(sourceFile, ref.url);
    const blobs = [await fetchShared(dir, source, name, ref.text, ctx)];
    const commit = blobs[0]!.digest;
    await linkOrCopy(snapshotPath(dir, commit, name), blobLinkTarget(dir, commit, name, commit));
    const received = blobs[0]!.received + (await ensureLinked(dir, commit, [{ ...source, expected: commit }], [name], blobs, ref.text, ctx));
    await writeFileAtomic(refPath(dir, 'main'), commit);
    ctx.emit({ status: 'success', ref: ref.text });
    const file: StoredFile = { path: name, localPath: snapshotPath(dir, commit, name), digest: commit, size: blobs[0]!.size };
    const model: ResolvedModel = { ref: ref.text, kind: 'url', commit, files: [file], primary: file };
    await touch(model, ctx);
    return { ...model, received, upToDate: received === 0, outcome: received === 0 ? 'up-to-date' : 'downloaded' };
  } finally {
    await unregister();
  }
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
        connections: ctx.connections,
        pieceBytes: ctx.pieceBytes,
        signal,
        onWait: () => ctx.emit({ status: 'waiting', ref, file, digest }),
        onProgress: throttle((completed, total) => ctx.emit({ status: 'downloading', ref, file, digest, total, completed })),
      }),
    ctx.signal,
  );
  if (result.received > 0) {
    // Hashed while it streamed in: record it as verified, with the stamp integrity checks compare against.
    const info = await stat(result.path).catch(() => undefined);
    await ctx.records.noteBlob(result.digest, { verifiedAt: new Date().toISOString(), ...(info ? { verifiedStamp: stampOf(info) } : {}) });
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
  return { ...model, received: 0, upToDate: true, outcome: 'up-to-date' };
}

/** Last-used bookkeeping: best effort, so a read-only home never fails a cached pull. */
async function touch(model: ResolvedModel, ctx: Pick<PullContext, 'records'>): Promise<void> {
  const now = new Date().toISOString();
  for (const f of model.files) if (f.digest) await ctx.records.noteBlob(f.digest, { lastUsedAt: now });
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
