import type { FastifyReply, FastifyRequest } from 'fastify';
import { toHearthError } from '../errors/index.js';
import { errorBody } from './http-errors.js';

export interface EventStream {
  /** Fires when the client goes away; pass it to generation so the work stops. */
  readonly signal: AbortSignal;
  send(value: unknown): void;
  /** Ends the stream; a failure after headers went out is reported inside the stream. */
  end(error?: unknown): void;
}

/**
 * Opens a streaming response: Server-Sent Events for OpenAI clients, NDJSON
 * for Ollama's. A client disconnect aborts `signal`, freeing the sequence.
 */
export function openStream(request: FastifyRequest, reply: FastifyReply, format: 'sse' | 'ndjson'): EventStream {
  const controller = new AbortController();
  const raw = reply.raw;
  reply.hijack();
  raw.writeHead(200, {
    'content-type': format === 'sse' ? 'text/event-stream; charset=utf-8' : 'application/x-ndjson',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  raw.flushHeaders();
  const onClose = () => {
    if (!raw.writableFinished) controller.abort(new Error('client disconnected'));
  };
  raw.on('close', onClose);
  const write = (value: unknown) => {
    if (raw.destroyed || raw.writableEnded) return;
    raw.write(format === 'sse' ? `data: ${JSON.stringify(value)}\n\n` : `${JSON.stringify(value)}\n`);
  };
  return {
    signal: controller.signal,
    send: write,
    end(error) {
      if (error !== undefined && !controller.signal.aborted) {
        const typed = toHearthError(error);
        request.log.warn({ code: typed.code, err: typed.message }, 'stream failed');
        write(errorBody(request.url, typed));
      }
      if (format === 'sse' && error === undefined) raw.write('data: [DONE]\n\n');
      raw.off('close', onClose);
      raw.end();
    },
  };
}

/** An AbortSignal for a non-streaming request: fires when the client disconnects before the response. */
export function requestSignal(request: FastifyRequest, reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.on('close', () => {
    if (!reply.raw.writableFinished) controller.abort(new Error('client disconnected'));
  });
  request.raw.on('aborted', () => controller.abort(new Error('client disconnected')));
  return controller.signal;
}
