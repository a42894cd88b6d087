import { HearthError, type ErrorCode } from '../errors/index.js';
import { spawnWorker } from '../lifecycle/spawn-worker.js';
import type { DownloadContext } from './download.js';
import type { RangeReply, RangeRequest, RangeSetup, ThreadError } from './range-protocol.js';

/** The blob a range thread fetches; the pull's settings come from the download context. */
export type RangedBlob = Pick<RangeSetup, 'partial' | 'location' | 'kind' | 'size' | 'label'>;

/**
 * The main thread's side of range-thread.ts: starts one attempt on its own
 * thread, relays its progress and log lines, and passes an abort on.
 */
export class RangeThreadClient {
  /** Bytes received over the network, over every attempt. */
  received = 0;

  constructor(
    private readonly blob: RangedBlob,
    private readonly ctx: DownloadContext,
  ) {}

  /** Fetches what the partial lacks and hashes it; resolves to its digest and length, or throws the attempt's error. */
  attempt(): Promise<{ digest: string; size: number }> {
    const { ctx } = this;
    const setup: RangeSetup = {
      ...this.blob,
      client: ctx.client.settings,
      logLevel: ctx.logger.level,
      retries: ctx.retries,
      idleTimeoutMs: ctx.idleTimeoutMs,
      connections: ctx.connections,
      pieceBytes: ctx.pieceBytes,
    };
    const worker = spawnWorker(new URL('./range-thread', import.meta.url), setup);
    const abort = () => worker.postMessage({ type: 'abort' } satisfies RangeRequest);
    ctx.signal?.addEventListener('abort', abort, { once: true });
    if (ctx.signal?.aborted) abort();
    return new Promise<{ digest: string; size: number }>((resolve, reject) => {
      let settled = false;
      worker.on('message', (reply: RangeReply) => {
        switch (reply.type) {
          case 'progress':
            ctx.onProgress?.(reply.written, this.blob.size);
            break;
          case 'log':
            relayLog(ctx, reply.line);
            break;
          case 'done':
            settled = true;
            this.received += reply.received;
            resolve({ digest: reply.digest, size: reply.size });
            break;
          case 'failed':
            settled = true;
            this.received += reply.received;
            reject(fromThreadError(reply.error));
            break;
        }
      });
      worker.on('error', (error) => {
        settled = true;
        reject(new HearthError('INTERNAL', `the download thread for ${this.blob.label} failed: ${error.message}`, { cause: error }));
      });
      worker.on('exit', (code) => {
        if (!settled) reject(new HearthError('INTERNAL', `the download thread for ${this.blob.label} exited (code ${code}) before it finished`));
      });
    }).finally(() => ctx.signal?.removeEventListener('abort', abort));
  }
}

function relayLog(ctx: DownloadContext, line: string): void {
  try {
    const { level, msg, time: _time, ...fields } = JSON.parse(line) as { level: number; msg?: string; time?: unknown } & Record<string, unknown>;
    const method = ctx.logger.levels.labels[level] as 'info' | 'warn' | 'debug' | 'error' | undefined;
    if (method && typeof ctx.logger[method] === 'function') ctx.logger[method](fields, msg ?? '');
  } catch {
    // A line that is not JSON is not worth failing a download for.
  }
}

/** The thread's error, as the same type the download would have thrown in this thread. */
function fromThreadError(error: ThreadError): Error {
  if (error.hearth) return new HearthError(error.hearth.code as ErrorCode, error.hearth.message, { details: error.hearth.details, hint: error.hearth.hint, cause: errnoError(error) });
  return errnoError(error) ?? new Error(error.message);
}

/** An OS error (ENOSPC, EACCES) keeps its errno, which the disk-full and permission checks read. */
function errnoError(error: ThreadError): Error | undefined {
  if (!error.errno) return undefined;
  return Object.assign(new Error(error.message), { code: error.errno });
}
