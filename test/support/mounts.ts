import { execFileSync } from 'node:child_process';

/**
 * Real filesystem limits for tests, which chmod cannot give a root process:
 * a small tmpfs (a disk that fills up) and a read-only bind mount. Both need
 * root; each returns false where mount is refused, so the test can skip.
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
  try {
    execFileSync('mount', ['--bind', dir, dir], { stdio: 'ignore' });
  } catch {
    return false;
  }
  try {
    execFileSync('mount', ['-o', 'remount,ro,bind', dir], { stdio: 'ignore' });
    return true;
  } catch {
    unmount(dir);
    return false;
  }
}

export function unmount(dir: string): void {
  execFileSync('umount', [dir], { stdio: 'ignore' });
}
