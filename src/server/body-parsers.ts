import type { FastifyInstance } from 'fastify';
import { HearthError } from '../errors/index.js';

/**
 * Ollama's documented examples send JSON with curl's `-d` and no JSON
 * content type (curl then says `application/x-www-form-urlencoded`), and
 * Ollama reads any body as JSON. So on /api a body of any type is parsed as
 * JSON; what is not JSON is still a 415. Elsewhere only JSON is accepted.
 */
export function installBodyParsers(app: FastifyInstance): void {
  const parseAsJson = (url: string, body: string): unknown => {
    if (!url.startsWith('/api/')) throw new HearthError('UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
    if (body.trim() === '') return undefined;
    try {
      return JSON.parse(body);
    } catch (error) {
      throw new HearthError('UNSUPPORTED_MEDIA_TYPE', `the body is not JSON: ${(error as Error).message}`, { cause: error, hint: 'send the body as JSON' });
    }
  };
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    try {
      done(null, parseAsJson(request.url, body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}
