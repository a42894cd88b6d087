import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { appendFile, rm, statfs, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Real filesystem limits for tests, which chmod cannot give a root process:
 * a small tmpfs (a disk that fills up) and read-only bind mounts. All need
 * root; each returns false where mount is refused, so the test can skip.
 *
 * A mount must never outlive its test: a read-only bind mount left behind
 * breaks every later cleanup of the folder. So unmount() falls back to a lazy
 * unmount when the mount is busy, and withMount() unmounts in a finally.
 */
export function mountTmpfs(dir: string, size: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Makes `dir` read-only for everyone, root included: a read-only bind mount of the folder onto itself. */
export function bindReadOnly(dir: string): boolean {
  return bindMount(dir, dir, { readOnly: true });
}

/** Mounts `source` (a folder or a file) over `target`, optionally read-only; the target is busy while mounted (unlink gives EBUSY). */
export function bindMount(source: string, target: string, options: { readOnly?: boolean } = {}): boolean {
  try {
    execFileSync('mount', ['--bind', source, target], { stdio: 'ignore' });
  } catch {
    return false;
  }
  if (!options.readOnly) return true;
  try {
    execFileSync('mount', ['-o', 'remount,ro,bind', target], { stdio: 'ignore' });
    return true;
  } catch {
    unmount(target);
    return false;
  }
}

/**
 * Unmounts `dir`; when that fails (EBUSY: a file in it is still open), detaches
 * it lazily (`umount -l`), which always succeeds and frees it once it is idle.
 * Throws only when the mount is still there afterwards.
 */
export function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'ignore' });
    return;
  } catch {
    // Busy, or not mounted: try the lazy way, then check.
  }
  try {
    execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
  } catch {
    // Not mounted at all is fine; still mounted is not (checked below).
  }
  if (isMounted(dir)) throw new Error(`could not unmount ${dir}`);
}

/** Unmounts every folder, the last mounted first, trying each even when one fails; then throws the first failure. */
export function unmountAll(dirs: string[]): void {
  let failure: unknown;
  while (dirs.length > 0) {
    const dir = dirs.pop()!;
    try {
      unmount(dir);
    } catch (error) {
      failure ??= error;
    }
  }
  if (failure) throw failure;
}

/** Whether a mount point is at `dir` (read from /proc/self/mountinfo, where Linux lists them). */
export function isMounted(dir: string): boolean {
  const info = readFileSync('/proc/self/mountinfo', 'utf8');
  // Field 5 is the mount point, with spaces and the like escaped as octal.
  return info.split('\n').some((line) => line.split(' ')[4]?.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))) === dir);
}

/** Runs `body` with `dir` mounted read-only, and unmounts it afterwards whatever happens. */
export async function withReadOnly<T>(dir: string, body: () => Promise<T>): Promise<T> {
  assert.ok(bindReadOnly(dir), `mount ${dir} read-only`);
  try {
    return await body();
  } finally {
    unmount(dir);
  }
}

/** Fills the filesystem that holds `dir` until a write fails for want of space. */
export async function fill(dir: string): Promise<void> {
  const fs = await statfs(dir);
  await writeFile(join(dir, 'filler'), Buffer.alloc(Math.max(0, fs.bavail * fs.bsize - 4096))).catch(() => undefined);
  for (let i = 0; i < 1000; i++) {
    try {
      await appendFile(join(dir, 'filler'), Buffer.alloc(512));
    } catch (error) {
      assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC');
      return;
    }
  }
  assert.fail(`could not fill ${dir}`);
}

/** Unmounts `mountPoint` when it was mounted, then removes it: a test's teardown, whatever happened before. */
export async function dropMount(mountPoint: string, mounted: boolean): Promise<void> {
  if (mounted) unmount(mountPoint);
  await rm(mountPoint, { recursive: true, force: true });
}
