import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HearthError, isHearthError } from '../errors/index.js';
import { hubRepoDir, refPath, snapshotPath, urlRepoDir, type RepoDir } from './layout.js';
import { selectQuantFiles } from './quant.js';
import { isCommitHash, type ModelRef } from './ref.js';
import { readSnapshot, snapshotFile } from './scan.js';
import type { ResolvedModel, StoredFile } from './types.js';

export interface CacheLocation {
  hubCache: string;
  home: string;
}

/**
 * Resolves a reference from disk alone: refs/ gives the commit, the snapshot
 * gives the files. Never touches the network. Undefined when not cached.
 */
export async function resolveCached(ref: ModelRef, where: CacheLocation): Promise<ResolvedModel | undefined> {
  switch (ref.kind) {
    case 'hf-file':
    case 'hf-quant':
    case 'hf-repo': {
      const dir = hubRepoDir(where.hubCache, ref.repo);
      const commit = await commitFor(dir, ref.revision);
      if (!commit) return undefined;
      const paths = ref.kind === 'hf-file' ? [ref.path] : await snapshotPaths(dir, commit);
      if (!paths) return undefined;
      const selected = ref.kind === 'hf-quant' ? selectCachedQuant(paths, ref.quant, ref.text) : paths;
      const files = selected && (await storedFiles(dir, commit, selected));
      return files && { ref: ref.text, kind: 'hub', repo: ref.repo, revision: ref.revision, commit, files, primary: files[0]! };
    }
    case 'url': {
      const dir = urlRepoDir(where.home, ref.url);
      const commit = await commitFor(dir, 'main');
      if (!commit || (ref.sha256 && commit !== ref.sha256)) return undefined;
      const paths = await snapshotPaths(dir, commit);
      const files = paths && (await storedFiles(dir, commit, paths));
      return files && { ref: ref.text, kind: 'url', commit, files, primary: files[0]! };
    }
    case 'local':
      return undefined; // local files are resolved by registration, which needs hashing
  }
}

export function notCachedError(ref: ModelRef, where: CacheLocation, offline: boolean): HearthError {
  const searched = ref.kind === 'url' ? urlRepoDir(where.home, ref.url).root : 'repo' in ref ? hubRepoDir(where.hubCache, ref.repo).root : ref.path;
  if (!offline) {
    return new HearthError('NOT_CACHED', `${ref.text} is not in the store (looked in ${searched})`, {
      details: { ref: ref.text, searched },
      hint: `run: hearth pull ${ref.text}`,
    });
  }
  return new HearthError('OFFLINE_NOT_CACHED', `offline mode is on and ${ref.text} is not cached (looked in ${searched})`, {
    details: { ref: ref.text, searched, cacheDir: where.hubCache },
    hint: `with network access run: hearth pull ${ref.text}  — or on an air-gapped machine: hearth import <bundle.tar> (made elsewhere with hearth export ${ref.text} -o bundle.tar)`,
  });
}

/** From a cached snapshot, a quant that is absent means "not cached", not "does not exist". */
function selectCachedQuant(paths: string[], quant: string, what: string): string[] | undefined {
  try {
    return selectQuantFiles(paths, quant, what);
  } catch (error) {
    if (isHearthError(error, 'MODEL_NOT_FOUND')) return undefined;
    throw error;
  }
}

async function commitFor(dir: RepoDir, revision: string): Promise<string | undefined> {
  if (isCommitHash(revision)) return revision;
  const commit = (await readFile(refPath(dir, revision), 'utf8').catch(() => '')).trim();
  return commit || undefined;
}

async function snapshotPaths(dir: RepoDir, commit: string): Promise<string[] | undefined> {
  return (await readSnapshot(dir, commit))?.map((f) => f.path);
}

/** The snapshot entries for `paths`, or undefined if any is missing or dangling. */
async function storedFiles(dir: RepoDir, commit: string, paths: string[]): Promise<StoredFile[] | undefined> {
  if (paths.length === 0) return undefined;
  const files: StoredFile[] = [];
  for (const path of paths) {
    const file = await snapshotFile(join(dir.snapshots, commit), snapshotPath(dir, commit, path));
    if (file.size === undefined) return undefined;
    files.push({ ...file, size: file.size });
  }
  return files;
}
