import { randomBytes } from 'node:crypto';
import { copyFile, lstat, mkdir, open, readlink, rename, stat, symlink, unlink } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

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

/** Writes a small file atomically: temp file, fsync, rename, fsync dir. */
export async function writeFileAtomic(path: string, data: string | Buffer): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempSibling(path);
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path).catch(async (error: unknown) => {
    await unlink(tmp).catch(() => undefined);
    throw error;
  });
  await fsyncDir(dirname(path));
}

/**
 * Points `path` at `target` (relative symlink) atomically, replacing what was
 * there. Where symlinks are refused (some Windows and network filesystems),
 * it copies the blob instead, as huggingface_hub does.
 */
export async function linkOrCopy(path: string, target: string): Promise<'symlink' | 'copy'> {
  await mkdir(dirname(path), { recursive: true });
  const current = await readlink(path).catch(() => undefined);
  if (current === target) return 'symlink';
  const tmp = tempSibling(path);
  try {
    await symlink(target, tmp);
    await rename(tmp, path);
    return 'symlink';
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    if (!['EPERM', 'EACCES', 'ENOSYS', 'EOPNOTSUPP', 'EINVAL'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
  }
  await copyFile(resolve(dirname(path), target), tmp);
  await rename(tmp, path);
  return 'copy';
}

export async function isSymlink(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined))?.isSymbolicLink() ?? false;
}


/** rename(), falling back to copy + rename across filesystems. */
export async function moveFile(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  try {
    await rename(from, to);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
    await copyFileAtomic(from, to);
    await unlink(from);
  }
  await fsyncDir(dirname(to));
}

/** Copies through a temp sibling so that `to` is either absent or complete. */
export async function copyFileAtomic(from: string, to: string): Promise<void> {
  await mkdir(dirname(to), { recursive: true });
  const tmp = tempSibling(to);
  await copyFile(from, tmp);
  const handle = await open(tmp, 'r+');
  await handle.sync().finally(() => handle.close());
  await rename(tmp, to);
}
