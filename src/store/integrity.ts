import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { HearthError, throwIfAborted } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import { digestKind, hashFile } from './digest.js';
import { sameStamp, stampOf, type FileStamp, type LocalRecord, type Records } from './records.js';
import type { IntegrityReport, ResolvedModel, StoredFile } from './types.js';

export type VerifyOnLoad = IntegrityReport['policy'];

export interface IntegrityContext {
  records: Records;
  logger: Logger;
  policy: VerifyOnLoad;
  /** A verification older than this is done again under `auto`. */
  maxAgeMs: number;
  signal?: AbortSignal | undefined;
}

/** What a file was last verified as: its stamp then, when, and against which digest. */
interface Verified {
  stamp: FileStamp | undefined;
  verifiedAt: string | undefined;
}

/**
 * Makes sure the bytes a loader is about to read are the bytes that were
 * verified, before a model's first load: a blob hit by bit rot (same size,
 * different content) must not be served. Under `auto` a file is hashed again
 * when it has never been verified, when its size, mtime, ctime or inode differ
 * from when it was (something wrote to it or replaced it), or when that was
 * longer ago than `maxAgeMs` (rot that leaves the metadata alone); `always`
 * hashes every file and `never` trusts the disk. A mismatch is BLOB_CORRUPT,
 * naming the file by its path in the model; a match refreshes the record,
 * as best-effort bookkeeping.
 */
export async function assertIntact(model: ResolvedModel, ctx: IntegrityContext): Promise<IntegrityReport> {
  const started = performance.now();
  const report: IntegrityReport = { policy: ctx.policy, checked: 0, hashed: 0, bytesHashed: 0, ms: 0 };
  if (ctx.policy === 'never') return done(report, started);
  const local = model.kind === 'local' ? await ctx.records.local(model.ref) : undefined;
  for (const file of model.files) {
    throwIfAborted(ctx.signal);
    // A copy in a foreign snapshot whose blob is unknown has nothing to be checked against.
    if (!file.digest) {
      ctx.logger.debug({ ref: model.ref, file: file.path }, 'no digest to verify against');
      continue;
    }
    report.checked++;
    const info = await stat(file.localPath).catch(() => undefined);
    if (!info?.isFile()) throw missing(model, file);
    const stamp = stampOf(info);
    const verified = model.kind === 'local' ? localVerified(local, model, file) : await blobVerified(ctx.records, file.digest);
    if (!mustHash(ctx, verified, stamp)) continue;
    const actual = await hashFile(file.localPath, digestKind(file.digest) ?? 'sha256', { size: info.size, signal: ctx.signal });
    report.hashed++;
    report.bytesHashed += actual.size;
    if (actual.digest !== file.digest) {
      if (model.kind !== 'local') await ctx.records.noteBlob(file.digest, { verifiedAt: undefined, verifiedStamp: undefined });
      throw corrupt(model, file, `no longer matches its digest (it hashes to ${actual.digest})`, actual.digest);
    }
    // The stamp taken before hashing: a write during the hash shows up as a change next time.
    const now = new Date().toISOString();
    if (model.kind === 'local') {
      if (local) refreshLocal(local, model, file, stamp, now);
    } else await ctx.records.noteBlob(file.digest, { verifiedAt: now, verifiedStamp: stamp });
  }
  if (local && report.hashed > 0) await ctx.records.noteLocal(local);
  return done(report, started);
}

function mustHash(ctx: IntegrityContext, verified: Verified, stamp: FileStamp): boolean {
  if (ctx.policy === 'always') return true;
  if (!verified.verifiedAt || !sameStamp(verified.stamp, stamp)) return true;
  const age = Date.now() - Date.parse(verified.verifiedAt);
  return !(age >= 0 && age < ctx.maxAgeMs);
}

async function blobVerified(records: Records, digest: string): Promise<Verified> {
  const record = await records.blob(digest);
  return { stamp: record.verifiedStamp, verifiedAt: record.verifiedAt };
}

/** A registered local file's stamp comes from its registration record, when that still names the same digest. */
function localVerified(record: LocalRecord | undefined, model: ResolvedModel, file: StoredFile): Verified {
  const entry = localEntry(record, model, file);
  if (!entry || entry.digest !== file.digest || entry.ctimeMs === undefined || entry.ino === undefined) return { stamp: undefined, verifiedAt: undefined };
  return {
    stamp: { size: entry.size, mtimeMs: entry.mtimeMs, ctimeMs: entry.ctimeMs, ino: entry.ino },
    verifiedAt: ('verifiedAt' in entry ? entry.verifiedAt : undefined) ?? record!.verifiedAt,
  };
}

function localEntry(record: LocalRecord | undefined, model: ResolvedModel, file: StoredFile) {
  if (!record) return undefined;
  if (!record.files) return model.files.length === 1 ? record : undefined;
  return record.files.find((f) => f.path === file.path);
}

function refreshLocal(record: LocalRecord, model: ResolvedModel, file: StoredFile, stamp: FileStamp, now: string): void {
  const entry = localEntry(record, model, file);
  if (!entry || entry.digest !== file.digest) return;
  Object.assign(entry, { size: stamp.size, mtimeMs: stamp.mtimeMs, ctimeMs: stamp.ctimeMs, ino: stamp.ino, verifiedAt: now });
  if (!record.files) record.verifiedAt = now;
}

/** The message names the file by its path in the model, never by an absolute path (it may reach HTTP clients); details carry the paths. */
function corrupt(model: ResolvedModel, file: StoredFile, what: string, actual: string): HearthError {
  const name = model.kind === 'local' ? `local model ${basename(model.ref)}` : model.ref;
  const repair =
    model.kind === 'local'
      ? 'restore the file from a good copy, or pull the local path again to register its new content'
      : `run: hearth verify --repair ${model.ref}`;
  return new HearthError('BLOB_CORRUPT', `${name}: ${file.path} ${what}`, {
    details: { ref: model.ref, file: file.path, path: file.localPath, expected: file.digest, status: 'corrupt', ...(actual ? { actual } : {}) },
    hint: repair,
  });
}

/**
 * A file that is not there, worded as `hearth verify` reports it (status
 * `missing`, not `corrupt`). The code stays BLOB_CORRUPT (exit 65, as verify
 * exits for missing files too): the model's bytes are not what was verified.
 */
function missing(model: ResolvedModel, file: StoredFile): HearthError {
  const local = model.kind === 'local';
  const name = local ? `local model ${basename(model.ref)}` : model.ref;
  const what = local ? 'file is missing' : 'blob is missing: its snapshot link dangles';
  return new HearthError('BLOB_CORRUPT', `${name}: ${file.path}: ${what}`, {
    details: { ref: model.ref, file: file.path, path: file.localPath, expected: file.digest, status: 'missing' },
    hint: local
      ? 'restore the file from a good copy, or pull the local path again to register what is there now'
      : `run: hearth verify --repair ${model.ref} (it downloads missing blobs again, as it does corrupt ones)`,
  });
}

function done(report: IntegrityReport, started: number): IntegrityReport {
  report.ms = Math.round((performance.now() - started) * 10) / 10;
  return report;
}
