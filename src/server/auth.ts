import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { HearthError } from '../errors/index.js';

/** Open routes: probes must work without credentials. */
const PUBLIC = new Set(['/health']);

/** Bearer-token auth on every route but /health, when an API key is configured. */
export function installAuth(app: FastifyInstance, apiKey: string | undefined): void {
  if (!apiKey) return;
  const expected = Buffer.from(`Bearer ${apiKey}`);
  app.addHook('onRequest', async (request) => {
    // A CORS preflight never carries credentials; the CORS plugin answers it, and the real request is checked.
    if (request.method === 'OPTIONS' && request.headers['access-control-request-method']) return;
    if (PUBLIC.has(request.url.split('?')[0]!)) return;
    const given = Buffer.from(request.headers.authorization ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new HearthError('UNAUTHORIZED', request.headers.authorization ? 'wrong API key' : 'missing API key', {
        hint: 'send Authorization: Bearer <HEARTH_API_KEY>',
      });
    }
  });
}
