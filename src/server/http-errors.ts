import type { FastifyError, FastifyInstance } from 'fastify';
import { HearthError, toHearthError } from '../errors/index.js';

/**
 * The one place where errors become HTTP responses. Typed errors keep their
 * code and status; Fastify's own (bad JSON, body too large) keep their status.
 */
export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | HearthError, request, reply) => {
    const typed = fromFastify(error) ?? toHearthError(error);
    const status = typed.httpStatus;
    (status >= 500 ? request.log.error : request.log.info).call(request.log, { err: error, code: typed.code }, 'request failed');
    void reply.status(status).send({ error: { code: typed.code, message: typed.message, hint: typed.hint } });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route for ${request.method} ${request.url}` } });
  });
}

function fromFastify(error: FastifyError | HearthError): HearthError | undefined {
  if (error instanceof HearthError) return error;
  const status = (error as FastifyError).statusCode;
  if (status && status >= 400 && status < 500) {
    const typed = new HearthError('USAGE', error.message, { cause: error });
    Object.defineProperty(typed, 'httpStatus', { value: status });
    return typed;
  }
  return undefined;
}
