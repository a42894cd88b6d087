import type { FastifyReply, FastifyRequest } from 'fastify';
import { toHearthError } from '../errors/index.js';
import { errorBody } from './http-errors.js';
import { clientGone } from './in-flight.js';

export interface EventStream {
  send(value: unknown): void;
  /** Ends the stream; a failure after headers went out is reported inside the stream, unless the client left. */
  end(error?: unknown): void;
}

/**
 * Opens a streaming response: Server-Sent Events for OpenAI clients, NDJSON
 * for Ollama's. `signal` is the request's own (see InFlight): it already
 * fires on a disconnect that happened before the stream opened.
 */
export function openStream(request: FastifyRequest, reply: FastifyReply, format: 'sse' | 'ndjson', signal: AbortSignal): EventStream {
  const raw = reply.raw;
  reply.hijack();
  raw.writeHead(200, {
    'content-type': format === 'sse' ? 'text/event-stream; charset=utf-8' : 'application/x-ndjson',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  raw.flushHeaders();
  const write = (value: unknown) => {
    if (raw.destroyed || raw.writableEnded) return;
    raw.write(format === 'sse' ? `data: ${JSON.stringify(value)}\n\n` : `${JSON.stringify(value)}\n`);
  };
  return {
    send: write,
    end(error) {
      if (error !== undefined && !clientGone(signal)) {
        const typed = toHearthError(error);
        request.log.warn({ code: typed.code, err: typed.message }, 'stream failed');
        write(errorBody(request.url, typed));
      }
      if (format === 'sse' && error === undefined && !raw.destroyed && !raw.writableEnded) raw.write('data: [DONE]\n\n');
      raw.end();
    },
  };
}
