import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { throwIfAborted } from '../errors/index.js';

/**
 * Blob names are hub etags: the sha256 of LFS files, or the git blob sha1 of
 * small files kept in git. Both can be checked while streaming.
 */
export type DigestKind = 'sha256' | 'git-sha1';

export function digestKind(etag: string): DigestKind | undefined {
  if (/^[0-9a-f]{64}$/.test(etag)) return 'sha256';
  if (/^[0-9a-f]{40}$/.test(etag)) return 'git-sha1';
  return undefined;
}

/** Normalizes an ETag header value (`W/"abc"`, `"abc"`) to the bare lowercase digest. */
export function normalizeEtag(value: string | null | undefined): string | undefined {
  if (!value) return undefined;
  return value.trim().replace(/^W\//, '').replace(/^"|"$/g, '').toLowerCase();
}

export function createDigestHash(kind: DigestKind, size: number): Hash {
  const hash = createHash(kind === 'sha256' ? 'sha256' : 'sha1');
  if (kind === 'git-sha1') hash.update(`blob ${size}\0`);
  return hash;
}

export interface FileDigest {
  size: number;
  digest: string;
}

/** Hashes a file by streaming it; `onBytes` reports progress. */
export async function hashFile(
  path: string,
  kind: DigestKind,
  options: { size?: number; signal?: AbortSignal | undefined; onBytes?: (n: number) => void } = {},
): Promise<FileDigest> {
  throwIfAborted(options.signal);
  const size = options.size ?? 0;
  const hash = createDigestHash(kind, size);
  const total = await updateFromFile(hash, path, options);
  if (kind === 'git-sha1' && options.size === undefined) {
    // The git header needs the size up front; hash again now that it is known.
    return hashFile(path, kind, { ...options, size: total });
  }
  return { size: total, digest: hash.digest('hex') };
}

export function sha256File(path: string, options: { signal?: AbortSignal | undefined; onBytes?: (n: number) => void } = {}): Promise<FileDigest> {
  return hashFile(path, 'sha256', options);
}

/** Feeds a file's bytes, up to `end`, into a running hash; returns the byte count. */
export async function updateFromFile(
  hash: Hash,
  path: string,
  options: { end?: number; signal?: AbortSignal | undefined; onBytes?: (n: number) => void } = {},
): Promise<number> {
  if (options.end === 0) return 0;
  let total = 0;
  const stream = createReadStream(path, {
    highWaterMark: 1 << 20,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.end !== undefined ? { end: options.end - 1 } : {}),
  });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    total += chunk.length;
    options.onBytes?.(chunk.length);
  }
  return total;
}
