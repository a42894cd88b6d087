import { randomBytes } from 'node:crypto';
import { mkdir, rm, statfs, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Store } from './store.js';

export interface DoctorReport {
  cacheDir: string;
  home: string;
  endpoint: string;
  offline: boolean;
  tokenConfigured: boolean;
  freeBytes: number | undefined;
  writable: boolean;
  symlinks: boolean;
  models: number;
  files: number;
  storedBytes: number;
}

/** Facts a user needs when something is off: where, how much room, what is cached. Offline-safe. */
export async function diagnose(store: Store, tokenConfigured: boolean): Promise<DoctorReport> {
  const probe = join(store.hubCache, `.hearth-doctor-${randomBytes(4).toString('hex')}`);
  let writable = false;
  let symlinks = false;
  try {
    await mkdir(probe, { recursive: true });
    await writeFile(join(probe, 'f'), 'ok');
    writable = true;
    await symlink('f', join(probe, 'l'));
    symlinks = true;
  } catch {
    // reported as false
  } finally {
    await rm(probe, { recursive: true, force: true });
  }
  const entries = await store.list();
  return {
    cacheDir: store.hubCache,
    home: store.home,
    endpoint: store.endpoint,
    offline: store.offline,
    tokenConfigured,
    freeBytes: await freeSpace(store.hubCache),
    writable,
    symlinks,
    // A single-file ref counts as its repo; a multi-file entry (hf:<owner>/<repo>, a directory) is its own model.
    models: new Set(entries.map((e) => (e.files ? e.ref : e.ref.replace(/\/[^/]*$/, '')))).size,
    files: entries.reduce((n, e) => n + (e.files?.length ?? 1), 0),
    storedBytes: entries.reduce((n, e) => n + (e.size ?? 0), 0),
  };
}

async function freeSpace(path: string): Promise<number | undefined> {
  for (let dir = path; ; dir = dirname(dir)) {
    const fs = await statfs(dir).catch(() => undefined);
    if (fs) return fs.bavail * fs.bsize;
    if (dirname(dir) === dir) return undefined;
  }
}
