import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { HearthError } from '../errors/index.js';
import { sha256File } from './digest.js';
import { selectSafeModelFiles } from './select-model.js';
import type { LocalFileRecord, LocalRecord, Records } from './records.js';
import type { PullEvent, PullOutcome, PullResult, StoredFile } from './types.js';

export interface LocalContext {
  records: Records;
  signal?: AbortSignal | undefined;
  emit: (event: PullEvent) => void;
}

/** How far a directory walk goes: a model folder is small; a home directory is not a model. */
const MAX_DEPTH = 4;
const MAX_ENTRIES = 10_000;

/**
 * Local models are hashed and recorded where they are; they are never copied,
 * moved or deleted. A file is the model; a directory is searched the way a hub
 * repo is (model-files.ts), and only the selected files are hashed. Hashes are
 * reused while a file's size and mtime stay the same.
 */
export async function registerLocal(path: string, ctx: LocalContext): Promise<PullResult> {
  const info = await stat(path).catch((error: unknown) => {
    throw new HearthError('MODEL_NOT_FOUND', `local model not found: ${path}`, { cause: error, details: { path } });
  });
  if (info.isDirectory()) return registerDirectory(path, ctx);
  if (!info.isFile()) throw new HearthError('REF_INVALID', `${path} is not a regular file or a directory`, { details: { path } });
  const previous = await ctx.records.local(path);
  let record = previous;
  let outcome: PullOutcome = 'up-to-date';
  if (!record || record.files || record.size !== info.size || record.mtimeMs !== info.mtimeMs) {
    const { digest } = await sha256File(path, { signal: ctx.signal });
    const now = new Date().toISOString();
    record = { path, size: info.size, mtimeMs: info.mtimeMs, ctimeMs: info.ctimeMs, ino: info.ino, digest, registeredAt: previous?.registeredAt ?? now, verifiedAt: now };
    outcome = !previous ? 'registered' : previous.digest !== digest || previous.files ? 'updated' : 'up-to-date';
  }
  record.lastUsedAt = new Date().toISOString();
  // Best effort: with a read-only home the file still loads, it is just hashed again next time.
  await ctx.records.noteLocal(record);
  const file: StoredFile = { path: basename(path), localPath: path, digest: record.digest, size: info.size };
  ctx.emit({ status: 'success', ref: path });
  return { ref: path, kind: 'local', files: [file], primary: file, received: 0, upToDate: outcome === 'up-to-date', outcome };
}

/** The files of a registered local model as the record lists them, without touching them. */
export function recordedFiles(record: LocalRecord): StoredFile[] {
  if (!record.files) return [{ path: basename(record.path), localPath: record.path, digest: record.digest, size: record.size }];
  return record.files.map((f) => ({ path: f.path, localPath: join(record.path, f.path), digest: f.digest, size: f.size }));
}

async function registerDirectory(root: string, ctx: LocalContext): Promise<PullResult> {
  const entries = await walkModelDir(root);
  const selection = selectSafeModelFiles([...entries.keys()], undefined, `local directory ${root}`);
  for (const path of selection.files) {
    const target = entries.get(path);
    if (target !== undefined) {
      throw new HearthError('REF_UNSAFE', `${root}: ${path} is a symlink to ${target}, outside the directory; hearth does not follow links out of a registered directory`, {
        details: { path: root, file: path, target },
        hint: 'copy the file into the directory, or register the directory the link points into',
      });
    }
  }
  const previous = await ctx.records.local(root);
  const known = new Map((previous?.files ?? []).map((f) => [f.path, f]));
  const files: LocalFileRecord[] = [];
  let rehashed = previous?.files === undefined;
  for (const path of selection.files) {
    const info = await stat(join(root, path));
    const old = known.get(path);
    if (old && old.size === info.size && old.mtimeMs === info.mtimeMs) files.push(old);
    else {
      const { digest } = await sha256File(join(root, path), { signal: ctx.signal });
      files.push({ path, size: info.size, mtimeMs: info.mtimeMs, ctimeMs: info.ctimeMs, ino: info.ino, digest, verifiedAt: new Date().toISOString() });
      rehashed = true;
    }
  }
  const changed = previous?.files !== undefined && (previous.files.length !== files.length || files.some((f, i) => previous.files![i]?.path !== f.path || previous.files![i]?.digest !== f.digest));
  const outcome: PullOutcome = !previous ? 'registered' : changed || !previous.files ? 'updated' : 'up-to-date';
  const now = new Date().toISOString();
  const record: LocalRecord = {
    path: root,
    size: files.reduce((n, f) => n + f.size, 0),
    mtimeMs: (await stat(root)).mtimeMs,
    digest: files[0]!.digest,
    registeredAt: previous?.registeredAt ?? now,
    verifiedAt: rehashed ? now : (previous?.verifiedAt ?? now),
    lastUsedAt: now,
    files,
  };
  await ctx.records.noteLocal(record);
  const stored = recordedFiles(record);
  ctx.emit({ status: 'success', ref: root });
  return { ref: root, kind: 'local', files: stored, primary: stored[0]!, received: 0, upToDate: outcome === 'up-to-date', outcome };
}

/** See Store.peekLocal; undefined when nothing loadable is there. */
export async function peekLocal(path: string): Promise<{ size: number; primary: string; modifiedAt: Date } | undefined> {
  const info = await stat(path).catch(() => undefined);
  if (info?.isFile()) return { size: info.size, primary: path, modifiedAt: info.mtime };
  if (!info?.isDirectory()) return undefined;
  try {
    const selection = selectSafeModelFiles([...(await walkModelDir(path)).keys()], undefined, `local directory ${path}`);
    const sizes = await Promise.all(selection.files.map(async (f) => (await stat(join(path, f))).size));
    return { size: sizes.reduce((a, b) => a + b, 0), primary: join(path, selection.files[0]!), modifiedAt: info.mtime };
  } catch {
    return undefined;
  }
}

/**
 * The files under a directory, by path relative to it. Dotfiles and dot
 * folders are skipped; a symlink counts when it resolves to a file inside the
 * directory, and is mapped to its target when it leads outside (so that a
 * selected one can be refused by name). Symlinked folders are not entered.
 */
async function walkModelDir(root: string): Promise<Map<string, string | undefined>> {
  const real = await realpath(root);
  const found = new Map<string, string | undefined>();
  const visit = async (dir: string, depth: number): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const full = join(dir, entry.name);
      const path = relative(root, full).split(sep).join('/');
      if (found.size >= MAX_ENTRIES) {
        throw new HearthError('REF_INVALID', `${root} holds more than ${MAX_ENTRIES} files; point at the model's own directory`, { details: { path: root } });
      }
      if (entry.isDirectory()) {
        if (depth < MAX_DEPTH) await visit(full, depth + 1);
      } else if (entry.isFile()) found.set(path, undefined);
      else if (entry.isSymbolicLink()) {
        const target = await realpath(full).catch(() => undefined);
        if (!target) continue; // dangling
        const inside = target === real || target.startsWith(real + sep);
        if (!inside) found.set(path, target);
        else if ((await stat(target)).isFile()) found.set(path, undefined);
      }
    }
  };
  await visit(root, 0);
  return found;
}
