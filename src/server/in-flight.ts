import type { FastifyReply, FastifyRequest } from 'fastify';
import { HearthError } from '../errors/index.js';

/** The reason a request's signal carries when its client went away; nothing is written back then. */
export const CLIENT_GONE = new HearthError('ABORTED', 'client disconnected');

/**
 * One AbortSignal per request, made when the request arrives, so a client
 * that disconnects at any point (while its body is parsed, while its model
 * loads, mid-stream) aborts its work; and the set of requests in flight, so a
 * shutdown can end the ones that outlive the drain.
 */
export class InFlight {
  readonly #controllers = new Map<FastifyRequest['raw'], AbortController>();
  #onDrained: (() => void) | undefined;

  /** True once the server is shutting down. */
  get draining(): boolean {
    return this.#onDrained !== undefined;
  }

  /** Starts draining: `onDrained` runs when no request is left (at once if none is). */
  drain(onDrained: () => void): void {
    this.#onDrained = onDrained;
    if (this.#controllers.size === 0) onDrained();
  }

  /** The request's signal, made on first call (the server calls it on arrival). */
  signal(request: FastifyRequest, reply: FastifyReply): AbortSignal {
    const existing = this.#controllers.get(request.raw);
    if (existing) return existing.signal;
    const controller = new AbortController();
    this.#controllers.set(request.raw, controller);
    const onClose = () => {
      this.#controllers.delete(request.raw);
      if (!reply.raw.writableFinished) controller.abort(CLIENT_GONE);
      if (this.#controllers.size === 0) this.#onDrained?.();
    };
    reply.raw.once('close', onClose);
    // A socket that closed before this point would never emit 'close' for us.
    if (request.raw.socket?.destroyed) onClose();
    return controller.signal;
  }

  get size(): number {
    return this.#controllers.size;
  }

  /** Ends every request still running (a shutdown past its drain time). */
  abortAll(reason: HearthError): void {
    for (const controller of this.#controllers.values()) controller.abort(reason);
  }
}

/** True when a signal fired because the client left, so there is nobody to tell. */
export function clientGone(signal: AbortSignal): boolean {
  return signal.aborted && signal.reason === CLIENT_GONE;
}
