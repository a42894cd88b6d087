import { createHash } from 'node:crypto';
import { dirname, join, relative } from 'node:path';
import { assertSafeRepoPath, assertSafeRevision } from './ref.js';

/**
 * One repository's folder in the Hugging Face hub cache layout:
 *   <root>/blobs/<etag>                 content, named by its digest
 *   <root>/snapshots/<commit>/<path>    relative symlink to the blob
 *   <root>/refs/<revision>              the commit a branch or tag pointed to
 * huggingface_hub, llama.cpp and hearth all read and write the same tree.
 */
export interface RepoDir {
  /** Stable id used for lock names and display: "models--owner--name" or "urls--host--hash". */
  readonly id: string;
  /** The cache root that holds this folder. */
  readonly parent: string;
  readonly root: string;
  readonly blobs: string;
  readonly snapshots: string;
  readonly refs: string;
}

export function repoDir(parent: string, id: string): RepoDir {
  const root = join(parent, id);
  return { id, parent, root, blobs: join(root, 'blobs'), snapshots: join(root, 'snapshots'), refs: join(root, 'refs') };
}

export function hubRepoDir(hubCache: string, repo: string): RepoDir {
  return repoDir(hubCache, `models--${repo.replace('/', '--')}`);
}

/** Inverse of hubRepoDir's naming, for scanning; undefined for foreign folders. */
export function repoFromFolder(folder: string): string | undefined {
  const match = /^models--(.+?)--(.+)$/.exec(folder);
  return match ? `${match[1]}/${match[2]}` : undefined;
}

/** Plain URLs live in hearth's own namespace, keyed by a hash of the URL, in the same layout. */
export function urlNamespace(home: string): string {
  return join(home, 'urls');
}

export function urlRepoDir(home: string, url: string): RepoDir {
  const host = new URL(url).host.replace(/[^A-Za-z0-9.-]/g, '_');
  const key = createHash('sha256').update(url).digest('hex').slice(0, 16);
  return repoDir(urlNamespace(home), `urls--${host}--${key}`);
}

export function blobPath(dir: RepoDir, etag: string): string {
  return join(dir.blobs, etag);
}

export function snapshotPath(dir: RepoDir, commit: string, path: string): string {
  return join(dir.snapshots, assertSafeRevision(commit), assertSafeRepoPath(path));
}

export function refPath(dir: RepoDir, revision: string): string {
  return join(dir.refs, assertSafeRevision(revision));
}

/** The symlink target huggingface_hub writes: relative, so a moved cache stays valid. */
export function blobLinkTarget(dir: RepoDir, commit: string, path: string, etag: string): string {
  return relative(dirname(snapshotPath(dir, commit, path)), blobPath(dir, etag));
}

export function lockPath(dir: RepoDir, key: string): string {
  // Not "<etag>.lock": that name belongs to huggingface_hub's filelock.
  return join(dir.parent, '.locks', dir.id, `${key}.hearth-lock`);
}

/** Partial downloads: unique per writer, and resumable by anyone who claims them by rename. */
export function partialName(etag: string, unique: string): string {
  return `${etag}.${unique}.incomplete`;
}

/** A partial's name, or its piece record's (`<etag>.<unique>.ranges`, see pieces.ts): whose blob, and which of the two. */
export function parsePartialName(name: string): { etag: string; part: 'bytes' | 'ranges' } | undefined {
  const match = /^([0-9a-f]{40}|[0-9a-f]{64})\.[A-Za-z0-9-]+\.(incomplete|ranges)$/.exec(name);
  return match ? { etag: match[1]!, part: match[2] === 'ranges' ? 'ranges' : 'bytes' } : undefined;
}
