import { randomBytes } from 'node:crypto';
import { copyFile, link, lstat, mkdir, open, readlink, rename, stat, symlink, unlink } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { HearthError } from '../errors/index.js';

export async function pathExists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

/** Makes a rename durable: fsync the directory that holds the new name. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r').catch(() => undefined);
  if (!handle) return; // some platforms cannot open directories; rename is still atomic
  await handle.sync().catch(() => undefined);
  await handle.close();
}

export function tempSibling(path: string): string {
  return `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
}

/** True for the errno codes that mean "this place cannot be written", as opposed to a bug. */
export function isUnwritable(error: unknown): boolean {
  const code = errnoOf(error);
  return code === 'EROFS' || code === 'EACCES' || code === 'EPERM' || isDiskFull(error);
}

/** True when a write failed for want of space (or quota), also when that is the cause of a wrapped error. */
export function isDiskFull(error: unknown): boolean {
  const code = errnoOf(error);
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/**
 * The errno code of a filesystem error, also when it is wrapped (a HearthError's
 * cause, a library's error around the OS's). Node's own `ERR_*` codes are bugs, not errno.
 */
export function errnoOf(error: unknown): string | undefined {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && /^E[A-Z0-9]+$/.test(e.code)) return e.code;
  }
  return undefined;
}

/**
 * A filesystem failure as a typed error that names the path it failed on:
 * a full disk is DISK_FULL, anything else from the OS is IO_ERROR. Errors
 * that are already typed, or not from the OS, pass through unchanged.
 */
export function fsError(error: unknown, action: string, path: string): unknown {
  if (error instanceof HearthError) return error;
  const code = errnoOf(error);
  if (isDiskFull(error)) {
    return new HearthError('DISK_FULL', `disk full while trying to ${action} ${path}`, {
      cause: error,
      details: { path, errno: code },
      hint: `free some space on the disk that holds ${dirname(path)} (hearth gc, hearth rm)`,
    });
  }
  if (code !== undefined) {
    return new HearthError('IO_ERROR', `cannot ${action} ${path}: ${code}`, { cause: error, details: { path, errno: code } });
  }
  return error;
}

/** mkdir -p, failing with a typed error that names the folder. */
export async function ensureDir(path: string): Promise<void> {
  await mkdirp(path).catch((error: unknown) => {
    throw fsError(error, 'create the folder', path);
  });
}

/**
 * mkdir -p. Node's recursive mkdir reports ENOENT when a missing parent cannot
 * be made (on a read-only mount, EROFS), which reads as "gone" instead of
 * "cannot be written". So on ENOENT the first missing folder is made again
 * with a plain mkdir, which fails with the real reason.
 */
async function mkdirp(path: string): Promise<void> {
  try {
    await mkdir(path, { recursive: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    let missing = path;
    while (dirname(missing) !== missing && !(await pathExists(dirname(missing)))) missing = dirname(missing);
    await mkdir(missing);
    await mkdir(path, { recursive: true });
  }
}

/**
 * Writes a new small file atomically and exclusively: written aside, then
 * hard-linked into place, which fails if the name is taken, even by a writer
 * racing this one. A reader never sees half a file. 'exists' leaves the
 * existing file as it was; the caller says what that means.
 */
export async function writeFileExclusive(path: string, data: string | Buffer): Promise<'written' | 'exists'> {
  const aside = tempSibling(path);
  await writeFileAtomic(aside, data);
  try {
    await link(aside, path);
    return 'written';
  } catch (error) {
    if (errnoOf(error) === 'EEXIST') return 'exists';
    throw fsError(error, 'write', path);
  } finally {
    await unlink(aside).catch(() => undefined);
  }
}

/** Writes a small file atomically: temp file, fsync, rename, fsync dir. The temp file never outlives a failure. */
export async function writeFileAtomic(path: string, data: string | Buffer): Promise<void> {
  const tmp = tempSibling(path);
  try {
    await mkdirp(dirname(path));
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw fsError(error, 'write', path);
  }
  await fsyncDir(dirname(path));
}

/**
 * Points `path` at `target` (relative symlink) atomically, replacing what was
 * there. Where symlinks are refused (some Windows and network filesystems),
 * it copies the blob instead, as huggingface_hub does.
 */
export async function linkOrCopy(path: string, target: string): Promise<'symlink' | 'copy'> {
  await ensureDir(dirname(path));
  const current = await readlink(path).catch(() => undefined);
  if (current === target) return 'symlink';
  const tmp = tempSibling(path);
  try {
    await symlink(target, tmp);
    await rename(tmp, path);
    return 'symlink';
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    if (!['EPERM', 'EACCES', 'ENOSYS', 'EOPNOTSUPP', 'EINVAL'].includes((error as NodeJS.ErrnoException).code ?? '')) throw fsError(error, 'link', path);
  }
  try {
    await copyFile(resolve(dirname(path), target), tmp);
    await rename(tmp, path);
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw fsError(error, 'write', path);
  }
  return 'copy';
}

export async function isSymlink(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined))?.isSymbolicLink() ?? false;
}

/** rename(), falling back to copy + rename across filesystems. */
export async function moveFile(from: string, to: string): Promise<void> {
  await ensureDir(dirname(to));
  try {
    await rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw fsError(error, 'move a file to', to);
    await copyFileAtomic(from, to);
    await unlink(from);
  }
  await fsyncDir(dirname(to));
}

/** Copies through a temp sibling so that `to` is either absent or complete; the temp file never outlives a failure. */
export async function copyFileAtomic(from: string, to: string): Promise<void> {
  const tmp = tempSibling(to);
  try {
    await mkdirp(dirname(to));
    await copyFile(from, tmp);
    const handle = await open(tmp, 'r+');
    await handle.sync().finally(() => handle.close());
    await rename(tmp, to);
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw fsError(error, 'write', to);
  }
}
