import { randomBytes } from 'node:crypto';
import { open, readdir, rename, stat, statfs, truncate as truncateFile, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { HearthError, isHearthError, toHearthError } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import { createDigestHash, updateFromFile, type DigestKind } from './digest.js';
import { acquireDownloadLock } from './file-lock.js';
import type { HubResponse, HubClient } from './hub-client.js';
import { blobPath, lockPath, partialName, parsePartialName, type RepoDir } from './layout.js';
import { ensureDir, fsyncDir, isDiskFull } from './fs-utils.js';
import { readTransferBody } from './idle-body.js';
import { readPieceRecord, recordPath, removePieceRecord } from './pieces.js';
import { RangeThreadClient } from './range-thread-client.js';
import { isRetryable, withRetry } from './retry.js';

/** One blob to fetch. `expected` is its digest when known up front (hub files, pinned URLs). */
export interface BlobSource {
  location: string;
  kind: DigestKind;
  expected: string | undefined;
  /** Names partial files and the lock: the expected digest, or a hash of the URL. */
  key: string;
  size: number | undefined;
  label: string;
}

export interface DownloadContext {
  client: HubClient;
  logger: Logger;
  retries: number;
  idleTimeoutMs: number;
  reserveBytes: number;
  /** Parallel range requests for a blob larger than one piece; 1 downloads every blob as one stream. */
  connections: number;
  /** The size of the byte ranges a large blob is cut into. */
  pieceBytes: number;
  signal?: AbortSignal | undefined;
  onProgress?: ((completed: number, total: number | undefined) => void) | undefined;
  onWait?: (() => void) | undefined;
}

export interface DownloadResult {
  /** The blob's digest, which is its file name. */
  digest: string;
  path: string;
  size: number;
  /** Bytes received over the network by this call (0 when another process did the work). */
  received: number;
}

/** Bytes re-fetched before the resume point and compared with what is on disk. */
const RESUME_OVERLAP = 64 * 1024;

/**
 * Downloads one blob into `dir/blobs`, crash-safe and resumable:
 * bytes go to a uniquely named partial file, hashed as they are written; a
 * partial left by a dead process is claimed by rename and resumed after its
 * tail is checked against the server; the digest is verified before the
 * partial is fsynced and renamed into place.
 */
export async function downloadBlob(dir: RepoDir, source: BlobSource, ctx: DownloadContext): Promise<DownloadResult> {
  const existing = source.expected ? await completeBlob(dir, source) : undefined;
  if (existing) return existing;

  const release = await acquireDownloadLock(lockPath(dir, source.key), {
    signal: ctx.signal,
    logger: ctx.logger,
    isDone: async () => (source.expected ? (await completeBlob(dir, source)) !== undefined : false),
    onWait: ctx.onWait,
  });
  try {
    const done = source.expected ? await completeBlob(dir, source) : undefined;
    if (done) return done;
    return await new BlobDownload(dir, source, ctx).run();
  } finally {
    await release?.().catch(() => undefined);
  }
}

/** A finished blob of the right size, if one is already published. */
async function completeBlob(dir: RepoDir, source: BlobSource): Promise<DownloadResult | undefined> {
  const path = blobPath(dir, source.expected!);
  const info = await stat(path).catch(() => undefined);
  if (!info) return undefined;
  if (source.size !== undefined && info.size !== source.size) return undefined;
  return { digest: source.expected!, path, size: info.size, received: 0 };
}

class BlobDownload {
  #partial = '';
  #received = 0;
  #ranged: RangeThreadClient | undefined;
  /** The server's validator for If-Range, learned from this process's own responses. */
  #validator: string | undefined;

  constructor(
    private readonly dir: RepoDir,
    private readonly source: BlobSource,
    private readonly ctx: DownloadContext,
  ) {}

  async run(): Promise<DownloadResult> {
    const { source, ctx } = this;
    this.#partial = await this.#claimPartial();
    const size = source.size;
    const ranged = size !== undefined && ctx.connections > 1 && size > ctx.pieceBytes;
    if (ranged) this.#ranged = new RangeThreadClient({ partial: this.#partial, location: source.location, kind: source.kind, size, label: source.label }, ctx);
    try {
      return await withRetry(() => (this.#ranged ? this.#rangedAttempt(this.#ranged) : this.#attempt()), {
        retries: ctx.retries,
        signal: ctx.signal,
        logger: ctx.logger,
        what: `download of ${source.label}`,
        // Each range retries its own failures; what is left for the whole blob is a start over (bytes that hash wrong, a file that changed).
        retryable: (error) => isRetryable(error) && (!ranged || isHearthError(error, 'DIGEST_MISMATCH') || (error as HearthError).details.restart === true),
      });
    } catch (error) {
      if (isHearthError(error, 'DIGEST_MISMATCH')) {
        await unlink(this.#partial).catch(() => undefined);
        await removePieceRecord(this.#partial);
      }
      if (isDiskFull(error)) {
        throw new HearthError('DISK_FULL', `disk full while downloading ${source.label} into ${this.dir.blobs}`, {
          cause: error,
          details: { dir: this.dir.blobs, partial: this.#partial },
          hint: 'free some space (hearth gc, hearth rm) and pull again: the partial download is kept and resumes',
        });
      }
      throw toHearthError(error);
    }
  }

  /**
   * Takes over the largest partial left by an earlier run, or starts a new one.
   * The folder is made here, where the partial is opened, not by the caller
   * before it registered its pull: until then a sweeper may remove an empty repo folder.
   */
  async #claimPartial(): Promise<string> {
    await ensureDir(this.dir.blobs);
    const mine = join(this.dir.blobs, partialName(this.source.key, `${process.pid}-${randomBytes(4).toString('hex')}`));
    // Without a known digest a partial could hold another version of the URL; start over.
    if (!this.source.expected) return mine;
    const names = await readdir(this.dir.blobs).catch(() => [] as string[]);
    const candidates = await Promise.all(
      names
        .filter((name) => {
          const parsed = parsePartialName(name);
          return parsed?.etag === this.source.key && parsed.part === 'bytes';
        })
        .map(async (name) => ({ name, size: (await stat(join(this.dir.blobs, name)).catch(() => undefined))?.size ?? -1 })),
    );
    for (const candidate of candidates.sort((a, b) => b.size - a.size)) {
      try {
        await rename(join(this.dir.blobs, candidate.name), mine);
        // Its piece record, if it was written in ranges; a record left without its partial is swept by gc.
        await rename(recordPath(join(this.dir.blobs, candidate.name)), recordPath(mine)).catch(() => undefined);
        this.ctx.logger.info({ file: this.source.label, bytes: candidate.size }, 'resuming partial download');
        return mine;
      } catch {
        // Claimed by another process first; try the next one.
      }
    }
    return mine;
  }

  /**
   * A large blob over parallel ranges, fetched and hashed on a thread of its
   * own (range-thread.ts); the bytes are verified and published here, as for one stream.
   */
  async #rangedAttempt(ranged: RangeThreadClient): Promise<DownloadResult> {
    // Allocated blocks, not the length: a ranged partial is sparse until its gaps fill.
    const info = await stat(this.#partial).catch(() => undefined);
    await this.#checkDiskSpace(info ? Math.min(info.size, info.blocks * 512) : 0);
    let fetched: { digest: string; size: number };
    try {
      fetched = await ranged.attempt();
    } finally {
      this.#received = ranged.received;
    }
    const handle = await open(this.#partial, 'r+');
    try {
      const result = await this.#finish(handle, fetched.digest, fetched.size, async () => {
        await handle.truncate(0);
        await removePieceRecord(this.#partial);
      });
      // Published: the record beside the old partial name has nothing left to describe.
      await removePieceRecord(this.#partial);
      return result;
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  async #attempt(): Promise<DownloadResult> {
    const { source, ctx } = this;
    // A partial written in ranges that falls back to one stream keeps only its gap-free prefix.
    if (source.size !== undefined) {
      const pieces = await readPieceRecord(this.#partial, source.size);
      if (pieces) await truncateFile(this.#partial, pieces.contiguous);
      await removePieceRecord(this.#partial);
    }
    // Append mode: every byte lands at the end, so the file is always a valid prefix.
    const handle = await open(this.#partial, 'a+');
    try {
      let size = (await handle.stat()).size;
      if (source.size !== undefined && size > source.size) size = await truncate(handle);
      await this.#checkDiskSpace(size);
      const overlap = Math.min(size, RESUME_OVERLAP);
      let position = size - overlap;
      let hash = createDigestHash(source.kind, source.size ?? 0);
      await updateFromFile(hash, this.#partial, { end: position, signal: ctx.signal });
      let pending = overlap > 0 ? await readRange(handle, position, overlap) : undefined;

      const response = await this.#openBody(position);
      if (response.status === 200 && position > 0) {
        // The server ignored the range (If-Range saw a changed file): take the full body from zero.
        ctx.logger.warn({ file: source.label }, 'server restarted the transfer from byte 0');
        position = await truncate(handle);
        hash = createDigestHash(source.kind, source.size ?? 0);
        pending = undefined;
      } else if (response.status === 206) {
        const range = /^bytes (\d+)-/.exec(response.header('content-range') ?? '');
        if (Number(range?.[1]) !== position) {
          response.cancel();
          throw protocol(`bad Content-Range for ${source.label}`);
        }
      } else if (response.status === 416) {
        response.cancel();
        await truncate(handle);
        throw new HearthError('HUB_UNAVAILABLE', `server refused the range for ${source.label}`, { details: { retryable: true } });
      }

      for await (let chunk of this.#body(response)) {
        if (pending) {
          const n = Math.min(pending.length, chunk.length);
          if (!chunk.subarray(0, n).equals(pending.subarray(0, n))) {
            await truncate(handle);
            throw new HearthError('HUB_UNAVAILABLE', `partial download of ${source.label} does not match the server; starting over`, {
              details: { retryable: true },
            });
          }
          hash.update(chunk.subarray(0, n));
          position += n;
          pending = pending.length > n ? pending.subarray(n) : undefined;
          chunk = chunk.subarray(n);
          if (chunk.length === 0) continue;
        }
        await handle.write(chunk);
        hash.update(chunk);
        position += chunk.length;
        this.#received += chunk.length;
        ctx.onProgress?.(position, source.size);
      }
      return await this.#finish(handle, hash.digest('hex'), position, async () => void (await handle.truncate(0)));
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  /** The body, watched for stalls so the retry loop can resume it. */
  #body(response: HubResponse): AsyncGenerator<Buffer> {
    return readTransferBody(response.body, { label: this.source.label, idleTimeoutMs: this.ctx.idleTimeoutMs, signal: this.ctx.signal });
  }

  async #openBody(start: number): Promise<HubResponse> {
    const response = await this.ctx.client.openBody(this.source.location, { start, ifRange: this.#validator, signal: this.ctx.signal });
    this.#validator = response.header('etag') ?? response.header('last-modified') ?? this.#validator;
    return response;
  }

  async #finish(handle: FileHandle, digest: string, size: number, discard: () => Promise<void>): Promise<DownloadResult> {
    const { source } = this;
    if (source.size !== undefined && size !== source.size) {
      throw new HearthError('HUB_UNAVAILABLE', `transfer of ${source.label} ended early (${size} of ${source.size} bytes)`, {
        details: { retryable: true },
      });
    }
    if (source.expected && digest !== source.expected) {
      await discard();
      throw new HearthError('DIGEST_MISMATCH', `${source.label}: downloaded bytes hash to ${digest}, expected ${source.expected}`, {
        details: { expected: source.expected, actual: digest, retryable: true },
      });
    }
    await handle.sync();
    await handle.close();
    const path = blobPath(this.dir, digest);
    await rename(this.#partial, path);
    await fsyncDir(this.dir.blobs);
    return { digest, path, size, received: this.#received };
  }

  async #checkDiskSpace(have: number): Promise<void> {
    if (this.source.size === undefined) return;
    const fs = await statfs(this.dir.blobs);
    const free = fs.bavail * fs.bsize;
    const need = this.source.size - have + this.ctx.reserveBytes;
    if (free < need) {
      throw new HearthError('DISK_SPACE_INSUFFICIENT', `not enough disk space for ${this.source.label}: need ${need} bytes, ${free} free in ${this.dir.blobs}`, {
        details: { need, free, dir: this.dir.blobs },
        hint: 'free some space (hearth gc, hearth rm) or point HF_HUB_CACHE at a larger disk; the partial download is kept and resumes',
      });
    }
  }
}

async function truncate(handle: FileHandle): Promise<number> {
  await handle.truncate(0);
  return 0;
}

async function readRange(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await handle.read(buffer, 0, length, position);
  return buffer.subarray(0, bytesRead);
}

function protocol(message: string): HearthError {
  return new HearthError('HUB_PROTOCOL', message);
}
