import { readdir, rm, rmdir, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { HearthError } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import { resolveCached } from './cache-resolve.js';
import { blobPath, hubRepoDir, urlRepoDir, type RepoDir } from './layout.js';
import { isProtected, protectedBlobs, withSweepLock } from './pull-markers.js';
import type { Records } from './records.js';
import type { ModelRef } from './ref.js';
import { scanRepo } from './scan.js';

export interface RemoveReport {
  ref: string;
  /** Snapshot entries and blobs deleted (local registrations delete nothing on disk). */
  removed: string[];
  freedBytes: number;
}

interface RemoveContext {
  hubCache: string;
  home: string;
  records: Records;
  logger: Logger;
}

/**
 * Removes a model: its snapshot entries, then any blob no snapshot still
 * links to, then refs left pointing at an empty snapshot. Files another
 * completed selection of the same snapshot still needs (the tokenizer shared
 * by two ONNX variants) stay. A local file or directory is only unregistered;
 * hearth never deletes files it did not write.
 */
export async function removeRef(ref: ModelRef, ctx: RemoveContext): Promise<RemoveReport> {
  if (ref.kind === 'local') {
    if (!(await ctx.records.removeLocal(ref.path))) throw notStored(ref);
    return { ref: ref.text, removed: [], freedBytes: 0 };
  }
  if (ref.kind === 'hf-repo' || ref.kind === 'url') {
    // `hf:<owner>/<repo>` is the whole repo folder: every revision, variant and file.
    const dir = ref.kind === 'url' ? urlRepoDir(ctx.home, ref.url) : hubRepoDir(ctx.hubCache, ref.repo);
    return removeFolder(ref, dir, ctx);
  }
  const model = await resolveCached(ref, ctx);
  if (!model) throw notStored(ref);
  const dir = hubRepoDir(ctx.hubCache, ref.repo);
  const commit = model.commit!;
  const own = (tag: string | undefined) => ref.kind === 'hf-quant' && tag?.toLowerCase() === ref.quant.toLowerCase();
  const completions = (await ctx.records.listCompletions(dir.id)).filter((c) => c.record.commit === commit);
  const shared = new Set(completions.filter((c) => !own(c.record.tag)).flatMap((c) => c.record.files.map((f) => f.path)));
  const removed: string[] = [];
  for (const file of model.files) {
    if (ref.kind === 'hf-quant' && shared.has(file.path)) continue;
    await unlink(file.localPath);
    removed.push(file.localPath);
    await pruneEmptyDirs(dirname(file.localPath), dir.snapshots);
  }
  // A selection that lost a file is no longer complete: forget that it was.
  const gone = new Set(model.files.map((f) => f.path).filter((p) => !shared.has(p) || ref.kind === 'hf-file'));
  for (const { record } of completions) {
    if (own(record.tag) || record.files.some((f) => gone.has(f.path))) await ctx.records.removeCompletion(dir.id, commit, record.tag);
  }
  const freedBytes = await sweepAfterRemove(dir, removed, ctx.records, ctx.logger);
  ctx.logger.info({ ref: ref.text, files: removed.length, freedBytes }, 'removed');
  return { ref: ref.text, removed, freedBytes };
}

/**
 * A whole repo folder, under its sweep lock: a pull or import that registered
 * is writing into it, and deleting the folder under it would fail it half-way
 * (ENOENT), so then nothing is removed and the caller is told to wait.
 */
async function removeFolder(ref: ModelRef, dir: RepoDir, ctx: RemoveContext): Promise<RemoveReport> {
  return withSweepLock(dir, { logger: ctx.logger }, async () => {
    const scanned = await scanRepo(dir);
    if (scanned.snapshots.size === 0 && scanned.blobs.length === 0) throw notStored(ref);
    const pulling = await protectedBlobs(dir, { clean: true, logger: ctx.logger });
    if (pulling.live > 0) {
      throw new HearthError('STORE_BUSY', `a pull is writing into ${ref.text}; try again when it ends`, {
        details: { ref: ref.text, dir: dir.root, pulls: pulling.live },
        hint: `wait for the pull or import of ${ref.text} to finish, then run hearth rm ${ref.text} again`,
      });
    }
    await ctx.records.removeCompletions(dir.id);
    await rm(dir.root, { recursive: true, force: true });
    ctx.logger.info({ ref: ref.text, dir: dir.root }, 'removed');
    return { ref: ref.text, removed: [dir.root], freedBytes: scanned.blobs.reduce((n, b) => n + b.size, 0) };
  });
}

/**
 * After a model's entries are gone, in one lock region and from one scan:
 * blobs nothing links to any more (except those a pull in progress is about
 * to link, see pull-markers.ts), then refs left pointing at a snapshot that is
 * gone, then the folder itself when nothing is left in it and no pull is
 * about to write into it. Returns the bytes freed.
 */
async function sweepAfterRemove(dir: RepoDir, removed: string[], records: Records, logger: Logger): Promise<number> {
  return withSweepLock(dir, { logger }, async () => {
    const scanned = await scanRepo(dir);
    const linked = new Set([...scanned.snapshots.values()].flat().map((f) => f.digest));
    const pulling = await protectedBlobs(dir, { clean: true, logger });
    let freed = 0;
    let kept = 0;
    for (const blob of scanned.blobs) {
      if (linked.has(blob.digest) || isProtected(pulling, blob.digest)) {
        kept++;
        continue;
      }
      await unlink(blobPath(dir, blob.digest)).catch(() => undefined);
      removed.push(blobPath(dir, blob.digest));
      freed += blob.size;
    }
    for (const [name, commit] of scanned.refs) {
      if (!scanned.snapshots.has(commit)) await unlink(`${dir.refs}/${name}`).catch(() => undefined);
    }
    if (scanned.snapshots.size === 0 && kept === 0 && scanned.leftovers.length === 0 && pulling.live === 0) {
      await records.removeCompletions(dir.id);
      await rm(dir.root, { recursive: true, force: true });
    }
    return freed;
  });
}

async function pruneEmptyDirs(from: string, stopAt: string): Promise<void> {
  for (let dir = from; dir.startsWith(stopAt) && dir !== stopAt; dir = dirname(dir)) {
    if ((await readdir(dir).catch(() => ['?'])).length > 0) return;
    await rmdir(dir).catch(() => undefined);
  }
}

function notStored(ref: ModelRef): HearthError {
  return new HearthError('NOT_CACHED', `${ref.text} is not in the store`, { details: { ref: ref.text }, hint: 'see hearth ls' });
}
