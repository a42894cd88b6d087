import { mkdir, mkdtemp, rm, statfs, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isSymlink } from './fs-utils.js';
import type { Store } from './store.js';

export interface DoctorReport {
  cacheDir: string;
  home: string;
  endpoint: string;
  offline: boolean;
  tokenConfigured: boolean;
  freeBytes: number | undefined;
  /** The cache dir takes new files. */
  writable: boolean;
  /** HEARTH_HOME takes new files (its records are best effort when it does not); null while it does not exist yet. */
  homeWritable: boolean | null;
  /** HEARTH_HOME exists; hearth makes it on its first write. */
  homeExists: boolean;
  /** true or false when tested (or seen in the cache); null when it could not be told. */
  symlinks: boolean | null;
  /** How symlink support was told, or why it could not be. */
  symlinksDetail: string;
  models: number;
  files: number;
  storedBytes: number;
  /** What is cached: one line per model, as `hearth ls` groups them. */
  cached: Array<{ ref: string; size: number | undefined; files: number }>;
}

/** Facts a user needs when something is off: where, how much room, what is cached. Offline-safe. */
export async function diagnose(store: Store, tokenConfigured: boolean): Promise<DoctorReport> {
  const entries = await store.list();
  // The cache is made when missing, as a pull would make it, so that symlink support can be told on a fresh machine.
  const probe = await probeDir(store.hubCache, { create: true });
  const home = await probeDir(store.home, { create: false });
  let symlinks = probe.symlinks;
  let symlinksDetail = probe.detail;
  if (symlinks === null) {
    // A cache that cannot be written can still show that it holds symlinks.
    const linked = await firstSymlink(entries.map((e) => e.localPath).filter((p) => p.startsWith(store.hubCache)));
    if (linked) {
      symlinks = true;
      symlinksDetail = `supported (the cache already holds symlinks; ${probe.detail})`;
    }
  }
  return {
    cacheDir: store.hubCache,
    home: store.home,
    endpoint: store.endpoint,
    offline: store.offline,
    tokenConfigured,
    freeBytes: await freeSpace(store.hubCache),
    writable: probe.writable,
    homeWritable: home.missing ? null : home.writable,
    homeExists: !home.missing,
    symlinks,
    symlinksDetail,
    // A single-file ref counts as its repo; a multi-file entry (hf:<owner>/<repo>, a directory) is its own model.
    models: new Set(entries.map((e) => (e.files ? e.ref : e.ref.replace(/\/[^/]*$/, '')))).size,
    files: entries.reduce((n, e) => n + (e.files?.length ?? 1), 0),
    storedBytes: entries.reduce((n, e) => n + (e.size ?? 0), 0),
    cached: entries.map((e) => ({ ref: e.ref, size: e.size, files: e.files?.length ?? 1 })),
  };
}

/**
 * Writes a file and a symlink to it in a scratch folder of `dir`: tried,
 * since access(W_OK) says yes to root on a read-only mount. Symlink support
 * is only known when the write itself worked: a folder that cannot be written
 * says nothing about the filesystem's links. With `create`, a missing `dir`
 * is made first (as a pull would); without, a missing `dir` is reported as
 * missing, and nothing is written anywhere else (never into its parent).
 */
async function probeDir(dir: string, options: { create: boolean }): Promise<{ writable: boolean; missing: boolean; symlinks: boolean | null; detail: string }> {
  if (options.create) await mkdir(dir, { recursive: true }).catch(() => undefined);
  let probe: string;
  try {
    probe = await mkdtemp(join(dir, '.hearth-doctor-'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { writable: false, missing: true, symlinks: null, detail: `unknown: ${dir} does not exist` };
    return { writable: false, missing: false, symlinks: null, detail: `unknown: ${dir} is not writable (${code ?? (error as Error).message})` };
  }
  try {
    try {
      await writeFile(join(probe, 'f'), 'ok');
    } catch (error) {
      return { writable: false, missing: false, symlinks: null, detail: `unknown: ${dir} is not writable (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` };
    }
    try {
      await symlink('f', join(probe, 'l'));
      return { writable: true, missing: false, symlinks: true, detail: 'supported' };
    } catch (error) {
      return { writable: true, missing: false, symlinks: false, detail: `not supported (${(error as NodeJS.ErrnoException).code ?? 'refused'}; files are copied)` };
    }
  } finally {
    await rm(probe, { recursive: true, force: true }).catch(() => undefined);
  }
}

async function firstSymlink(paths: string[]): Promise<string | undefined> {
  for (const path of paths) if (await isSymlink(path)) return path;
  return undefined;
}

async function freeSpace(path: string): Promise<number | undefined> {
  for (let dir = path; ; dir = dirname(dir)) {
    const fs = await statfs(dir).catch(() => undefined);
    if (fs) return fs.bavail * fs.bsize;
    if (dirname(dir) === dir) return undefined;
  }
}
