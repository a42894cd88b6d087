import type { FileHandle } from 'node:fs/promises';
import { HearthError } from '../errors/index.js';
import type { DownloadContext } from './download.js';
import type { HubResponse } from './hub-client.js';
import type { DigestKind } from './digest.js';
import { FileHasher } from './file-hasher.js';
import { readTransferBody } from './idle-body.js';
import { Pieces, readPieceRecord, removePieceRecord, writePieceRecord } from './pieces.js';
import { isRetryable, withRetry } from './retry.js';

/** What a ranged fetch needs to know of its blob: where it is, how long, how to hash it. */
export interface RangedSource {
  location: string;
  kind: DigestKind;
  size: number;
  label: string;
}

/** Writes are gathered to this size before they go to the disk: one syscall per MiB, not per 64 KiB chunk. */
const WRITE_BATCH = 1 << 20;
/** How often the piece record is saved while bytes arrive; a killed pull re-fetches at most this much per connection. */
const RECORD_EVERY_MS = 1000;
/** Written bytes between two background flushes to the disk. */
const SYNC_EVERY = 64 << 20;

/**
 * One attempt at a large blob over parallel byte ranges, in the style of
 * aria2 and hf_transfer: the file is cut in pieces, `connections` requests
 * take them in file order, and each writes its bytes at their offset in the
 * partial. A hash thread follows the contiguous prefix, so by the time the
 * last piece lands almost every byte is hashed. Each piece is retried on its
 * own, from the bytes it already wrote; the piece record beside the partial
 * keeps that across a killed process.
 *
 * The first request is a probe: a server that answers a range with the whole
 * file (200) gets the download as one stream, and no other request is sent.
 */
export class RangedFetch {
  /** Bytes this fetch received over the network, over all its attempts. */
  received = 0;
  #pieces: Pieces | undefined;
  #hasher: FileHasher | undefined;
  #validator: string | undefined;
  #lastSave = 0;
  #unsynced = 0;
  #syncing: Promise<void> | undefined;
  #syncError: unknown;
  #saving: Promise<void> | undefined;

  constructor(
    private readonly partial: string,
    private readonly source: RangedSource,
    private readonly ctx: DownloadContext,
  ) {}

  /** Fetches whatever the partial lacks and hashes the whole file; returns its digest and length. */
  async attempt(handle: FileHandle): Promise<{ digest: string; size: number }> {
    const { ctx } = this;
    // Started first: the thread's start-up overlaps reading the record and the probe's request.
    const hasher = this.#startHasher();
    const failed = new AbortController();
    const signal = ctx.signal ? AbortSignal.any([ctx.signal, failed.signal]) : failed.signal;
    try {
      const pieces = await this.#resume(handle);
      hasher.advance(pieces.contiguous);
      const queue = pieces.open();
      const probe = queue.shift();
      if (probe !== undefined) {
        // The probe's answer says whether the server serves ranges at all; the other connections open as soon as its headers do.
        let decide!: (ranged: boolean) => void;
        const decided = new Promise<boolean>((resolve) => (decide = resolve));
        const run = async (first: number | undefined) => {
          if (first !== undefined && !(await this.#piece(handle, first, signal, decide))) return;
          for (let i = queue.shift(); i !== undefined; i = queue.shift()) await this.#piece(handle, i, signal);
        };
        const guard = (running: Promise<void>) =>
          running.catch((error: unknown) => {
            // One piece out of retries ends the attempt: the others stop, their bytes kept for the next.
            failed.abort(error);
            throw error;
          });
        const runners = [guard(run(probe).finally(() => decide(false)))];
        if (await decided) runners.push(...Array.from({ length: Math.min(ctx.connections - 1, queue.length) }, () => guard(run(undefined))));
        const settled = await Promise.allSettled(runners);
        const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
        if (failure) {
          const error = failed.signal.aborted ? (failed.signal.reason as unknown) : failure.reason;
          // Only now that no write is in flight: a file that changed on the server starts over.
          if (error instanceof HearthError && error.details.restart === true) await this.discard(handle);
          throw error;
        }
      }
      const current = this.#pieces!;
      await this.#syncing;
      if (this.#syncError) throw this.#syncError;
      const { digest, bytes } = await this.#hasher!.digest(ctx.signal);
      if (bytes !== current.written) throw new HearthError('IO_ERROR', `${this.source.label}: hashed ${bytes} bytes of the ${current.written} written`);
      return { digest, size: current.written };
    } finally {
      await hasher.dispose();
      await this.#hasher?.dispose();
      await this.#save(true).catch(() => undefined);
    }
  }

  /** Bytes found wrong: the partial and its record start over. */
  async discard(handle: FileHandle): Promise<void> {
    await handle.truncate(0);
    await removePieceRecord(this.partial);
    this.#pieces = undefined;
  }

  /** Where the partial stands: its record, or, for a partial without one, a prefix written in order. */
  async #resume(handle: FileHandle): Promise<Pieces> {
    const { size } = this.source;
    const recorded = await readPieceRecord(this.partial, size);
    const pieces = recorded ?? Pieces.fromPrefix(size, this.ctx.pieceBytes, Math.min(size, (await handle.stat()).size));
    this.#validator ??= pieces.validator;
    if (pieces.written > 0) this.ctx.logger.info({ file: this.source.label, bytes: pieces.written, pieces: pieces.count }, 'resuming partial download');
    this.#pieces = pieces;
    // Saved before any byte lands past the prefix: a partial without a record must always be a plain prefix.
    await this.#save(true);
    return pieces;
  }

  #startHasher(): FileHasher {
    const hasher = FileHasher.start(this.partial, this.source.kind, this.source.size, this.source.label);
    this.#hasher = hasher;
    return hasher;
  }

  /**
   * Fetches the rest of piece `i`, retrying from what it has written. The
   * probe (`onAnswer` set) learns from its first headers whether ranges are
   * served; a 200 means they are not: the whole body is then written as a
   * single piece, and the result is false.
   */
  async #piece(handle: FileHandle, i: number, signal: AbortSignal, onAnswer?: (ranged: boolean) => void): Promise<boolean> {
    const { ctx } = this;
    return withRetry(
      async () => {
        const pieces = this.#pieces!;
        const start = pieces.start(i) + pieces.done[i]!;
        const end = pieces.start(i) + pieces.length(i) - 1;
        const response = await ctx.client.openBody(this.source.location, { start, end, ifRange: this.#validator, signal });
        this.#validator = response.header('etag') ?? response.header('last-modified') ?? this.#validator;
        pieces.validator = this.#validator;
        if (response.status === 200) {
          if (!onAnswer) throw this.#changed(response);
          onAnswer(false);
          await this.#restartWhole(handle);
          await this.#stream(handle, response, 0, this.#pieces!.length(0), 0, signal);
          return false;
        }
        if (response.status === 416) {
          response.cancel();
          throw new HearthError('HUB_UNAVAILABLE', `server refused bytes ${start}-${end} of ${this.source.label}`, { details: { retryable: true } });
        }
        const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(response.header('content-range') ?? '');
        if (!range || Number(range[1]) !== start || Number(range[2]) !== end || (range[3] !== '*' && Number(range[3]) !== this.source.size)) {
          response.cancel();
          throw new HearthError('HUB_PROTOCOL', `bad Content-Range for ${this.source.label}: asked for bytes ${start}-${end}/${this.source.size}, got "${response.header('content-range')}"`);
        }
        onAnswer?.(true);
        await this.#stream(handle, response, i, end + 1 - start, start, signal);
        return true;
      },
      {
        retries: ctx.retries,
        signal,
        logger: ctx.logger,
        what: `bytes of ${this.source.label} in piece ${i + 1}`,
        // A changed file is not this piece's to retry: the whole attempt starts over.
        retryable: (error) => isRetryable(error) && (error as HearthError).details.restart !== true,
      },
    );
  }

  /** Writes a response body at `position` onward into piece `i`, in batches, reporting each to the hasher and the record. */
  async #stream(handle: FileHandle, response: HubResponse, i: number, expected: number, position: number, signal: AbortSignal): Promise<void> {
    const { ctx, source } = this;
    const pieces = this.#pieces!;
    let batch: Buffer[] = [];
    let batched = 0;
    let got = 0;
    const flush = async () => {
      if (batched === 0) return;
      const written = await handle.writev(batch, position);
      if (written.bytesWritten !== batched) throw new HearthError('IO_ERROR', `short write to ${this.partial}`);
      position += batched;
      pieces.wrote(i, batched);
      this.received += batched;
      this.#hasher!.advance(pieces.contiguous);
      ctx.onProgress?.(pieces.written, source.size);
      this.#syncInBackground(handle, batched);
      batch = [];
      batched = 0;
      if (performance.now() - this.#lastSave >= RECORD_EVERY_MS) await this.#save(false);
    };
    try {
      for await (const chunk of readTransferBody(response.body, { label: source.label, idleTimeoutMs: ctx.idleTimeoutMs, signal })) {
        got += chunk.length;
        if (got > expected) throw new HearthError('HUB_PROTOCOL', `server sent more than the ${expected} bytes asked of ${source.label}`);
        batch.push(chunk);
        batched += chunk.length;
        if (batched >= WRITE_BATCH) await flush();
      }
    } finally {
      // What arrived before a failure is kept: the retry asks only for the rest.
      await flush();
    }
    if (got < expected) {
      throw new HearthError('HUB_UNAVAILABLE', `transfer of ${source.label} ended early (${got} of ${expected} bytes of a range)`, { details: { retryable: true } });
    }
  }

  /**
   * A range request answered with the whole file, after other ranges were
   * served, means the file changed on the server (If-Range saw a new
   * validator): nothing written so far can be kept (attempt() discards it).
   */
  #changed(response: HubResponse): HearthError {
    response.cancel();
    return new HearthError('HUB_UNAVAILABLE', `${this.source.label} changed on the server during the download; starting over`, { details: { retryable: true, restart: true } });
  }

  /** The server ignores ranges: the file is one piece from byte 0, hashed from scratch. */
  async #restartWhole(handle: FileHandle): Promise<void> {
    if (this.#pieces!.written > 0) this.ctx.logger.warn({ file: this.source.label }, 'server restarted the transfer from byte 0');
    await handle.truncate(0);
    this.#pieces = new Pieces(this.source.size, Math.max(1, this.source.size), undefined, this.#validator);
    await this.#hasher?.dispose();
    this.#startHasher();
    await this.#save(true);
  }

  /**
   * Flushes written bytes to the disk while the download goes on, one
   * fdatasync at a time, so that the fsync before the publish finds little
   * left: 384 MiB waited ~190 ms for it at the end. A failure is kept and
   * fails the attempt; after a failed flush, a later fsync may report success.
   */
  #syncInBackground(handle: FileHandle, bytes: number): void {
    this.#unsynced += bytes;
    if (this.#unsynced < SYNC_EVERY || this.#syncing) return;
    this.#unsynced = 0;
    this.#syncing = handle
      .datasync()
      .catch((error: unknown) => void (this.#syncError ??= error))
      .finally(() => (this.#syncing = undefined));
  }

  /** Saves the record; a periodic save is skipped while one is under way, a forced one waits for it. */
  async #save(force: boolean): Promise<void> {
    const pieces = this.#pieces;
    if (!pieces) return;
    if (this.#saving) {
      if (!force) return;
      await this.#saving.catch(() => undefined);
    }
    this.#lastSave = performance.now();
    this.#saving = writePieceRecord(this.partial, pieces).finally(() => (this.#saving = undefined));
    await this.#saving;
  }
}
