import { Readable } from 'node:stream';
import { HearthError, isHearthError } from '../errors/index.js';

export interface IdleBodyOptions {
  /** How long the body may go without a byte before it is given up on (HEARTH_PULL_TIMEOUT). */
  idleTimeoutMs: number;
  /** The request's own signal: the body dies with it, and the error then says ABORTED. */
  signal?: AbortSignal | undefined;
  /** The error for a body that stalled. */
  stalled: () => HearthError;
  /** The error for a body that broke off (the connection, the server). */
  interrupted: (error: unknown) => HearthError;
}

/**
 * A hub response body, chunk by chunk, given up on when no byte arrives for
 * the idle timeout: a stalled transfer, or a stalled listing, becomes a
 * retryable error instead of hanging the pull. Downloads and listings read
 * their bodies through this one watch, so both end the same way: ABORTED
 * when their signal fired, the `stalled` error after a stall, `interrupted`
 * for anything else that cut the body off.
 *
 * Hand-written: fetch() has no idle timeout of its own, and its signal would
 * also cut off a body that is slow but alive.
 */
export async function* readIdleBody(body: ReadableStream<Uint8Array> | Readable, options: IdleBodyOptions): AsyncGenerator<Buffer> {
  const { idleTimeoutMs, signal } = options;
  const stream = body instanceof Readable ? body : Readable.fromWeb(body as never);
  // One timer checked lazily, not re-armed per chunk: a fast transfer delivers tens of thousands of chunks.
  let lastData = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const check = (wait: number) => {
    timer = setTimeout(() => {
      const idle = performance.now() - lastData;
      if (idle >= idleTimeoutMs) stream.destroy(options.stalled());
      else check(idleTimeoutMs - idle);
    }, wait);
  };
  try {
    check(idleTimeoutMs);
    for await (const chunk of stream) {
      lastData = performance.now();
      yield chunk as Buffer;
    }
  } catch (error) {
    if (signal?.aborted) throw new HearthError('ABORTED', 'download aborted', { cause: signal.reason });
    if (isHearthError(error)) throw error;
    throw options.interrupted(error);
  } finally {
    clearTimeout(timer);
  }
}

/** A download's body (a blob's bytes, one stream or one range), with the retryable errors the download paths share. */
export function readTransferBody(body: Readable, options: { label: string; idleTimeoutMs: number; signal?: AbortSignal | undefined }): AsyncGenerator<Buffer> {
  const { label, idleTimeoutMs, signal } = options;
  return readIdleBody(body, {
    idleTimeoutMs,
    signal,
    stalled: () => new HearthError('HUB_UNAVAILABLE', `no data for ${idleTimeoutMs} ms`, { details: { retryable: true } }),
    interrupted: (error) => new HearthError('HUB_UNAVAILABLE', `transfer of ${label} interrupted: ${(error as Error).message}`, { cause: error, details: { retryable: true } }),
  });
}
