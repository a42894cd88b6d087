import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HearthError, toHearthError, type ErrorCode } from '../errors/index.js';

/**
 * The one place where errors become HTTP responses. Each API family gets the
 * error shape its clients parse: OpenAI's `{error: {message, type, code}}` on
 * /v1, Ollama's `{error: "message"}` on /api, and hearth's own elsewhere.
 */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | HearthError, request, reply) => {
    const typed = fromFastify(error) ?? toHearthError(error);
    // Overload (503) is the server working as designed, not a fault.
    const level = typed.httpStatus >= 500 && typed.httpStatus !== 503 ? 'error' : 'info';
    request.log[level]({ err: error, code: typed.code }, 'request failed');
    sendError(request, reply, typed);
  });
  app.setNotFoundHandler((request, reply) => {
    sendError(request, reply, new HearthError('ROUTE_NOT_FOUND', `no route for ${request.method} ${request.url.split('?')[0]}`));
  });
}

export function sendError(request: FastifyRequest, reply: FastifyReply, error: HearthError): void {
  if (error.code === 'QUEUE_FULL') void reply.header('retry-after', '1');
  if (error.code === 'POOL_FULL' || error.code === 'SHUTTING_DOWN') void reply.header('retry-after', String(error.details.retryAfterSeconds ?? 5));
  void reply.status(error.httpStatus).send(errorBody(request.url, error));
}

/**
 * Codes whose details are part of the answer: a client needs a space check's
 * verdict and diff to act on it. Other details can name server paths and stay in the log.
 */
const PUBLIC_DETAILS: ReadonlySet<ErrorCode> = new Set(['SPACE_MISMATCH']);

/** The error body for a URL's API family; also used inside streams, after headers are sent. */
export function errorBody(url: string, error: HearthError): Record<string, unknown> {
  const details = PUBLIC_DETAILS.has(error.code) ? { details: error.details } : {};
  if (url.startsWith('/v1/')) {
    return { error: { message: withHint(error), type: openAiType(error.httpStatus), param: null, code: error.code.toLowerCase(), ...details } };
  }
  if (url.startsWith('/api/')) return { error: withHint(error), ...details };
  return { error: { code: error.code, message: error.message, hint: error.hint, ...details } };
}

function withHint(error: HearthError): string {
  return error.hint ? `${error.message} (${error.hint})` : error.message;
}

function openAiType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 404) return 'not_found_error';
  if (status === 429 || status === 503) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

const FASTIFY_CODES: Record<number, ErrorCode> = { 413: 'BODY_TOO_LARGE', 415: 'UNSUPPORTED_MEDIA_TYPE', 404: 'ROUTE_NOT_FOUND' };

/** Fastify's own client errors (malformed JSON, body too large) keep their meaning. */
function fromFastify(error: FastifyError | HearthError): HearthError | undefined {
  if (error instanceof HearthError) return undefined;
  const status = (error as FastifyError).statusCode;
  if (!status || status < 400 || status >= 500) return undefined;
  const message = (error as FastifyError).code === 'FST_ERR_CTP_INVALID_JSON_BODY' || /JSON/.test(error.message) ? `malformed JSON body: ${error.message}` : error.message;
  return new HearthError(FASTIFY_CODES[status] ?? 'USAGE', message, { cause: error });
}
