import { hostname } from 'node:os';
import { isIP } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { HearthError } from '../errors/index.js';

/** Names that only ever mean this machine or its local network, as Ollama accepts them. */
const LOCAL_SUFFIXES = ['.localhost', '.local', '.internal'];

/**
 * The DNS-rebinding and cross-site guard, for servers without an API key.
 * A request that reached a loopback address must name an allowed host: an
 * IP literal (rebinding needs a DNS name), localhost or a *.localhost,
 * *.local or *.internal name, this machine's hostname, or one of
 * HEARTH_ALLOWED_HOSTS. A browser request (one with an Origin) must come
 * from a loopback origin or one of HEARTH_CORS_ORIGINS, so a web page cannot
 * make a visitor's browser pull, generate or delete. With a key set, the key
 * is the guard, as it is for a server bound to a non-loopback address.
 */
export function installHostGuard(app: FastifyInstance, options: { apiKey?: string | undefined; allowedHosts: readonly string[]; corsOrigins: readonly string[] }): void {
  if (options.apiKey) return;
  const allowed = new Set([hostname().toLowerCase(), ...options.allowedHosts.map((h) => h.toLowerCase())]);
  const origins = new Set(options.corsOrigins);
  app.addHook('onRequest', async (request) => {
    if (!isLoopback(request.socket.localAddress)) return;
    const host = hostOf(request.headers.host);
    if (host !== undefined && !hostAllowed(host, allowed)) {
      throw new HearthError('HOST_NOT_ALLOWED', `host "${host}" is not allowed`, {
        hint: 'use localhost or 127.0.0.1, list the name in HEARTH_ALLOWED_HOSTS, or set HEARTH_API_KEY',
      });
    }
    const origin = request.headers.origin;
    if (origin !== undefined && !origins.has(origin) && !loopbackOrigin(origin)) {
      throw new HearthError('HOST_NOT_ALLOWED', `origin "${origin}" is not allowed`, { hint: 'list it in HEARTH_CORS_ORIGINS, or set HEARTH_API_KEY' });
    }
  });
}

function hostAllowed(host: string, allowed: ReadonlySet<string>): boolean {
  return isIP(host) !== 0 || host === 'localhost' || LOCAL_SUFFIXES.some((s) => host.endsWith(s)) || allowed.has(host);
}

/** The host name of a Host header, lower case, without port or IPv6 brackets. */
function hostOf(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const value = header.trim().toLowerCase();
  if (value.startsWith('[')) return value.slice(1, value.indexOf(']') > 0 ? value.indexOf(']') : undefined);
  return value.replace(/:\d*$/, '');
}

function loopbackOrigin(origin: string): boolean {
  try {
    const { hostname: host, protocol } = new URL(origin);
    const name = host.replace(/^\[|\]$/g, '');
    return (protocol === 'http:' || protocol === 'https:') && (name === 'localhost' || name.endsWith('.localhost') || isLoopback(name));
  } catch {
    return false;
  }
}

/** A loopback IP address (IPv4-mapped ones included). */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const a = address.replace(/^::ffff:/, '');
  return a === '::1' || (isIP(a) === 4 && a.startsWith('127.'));
}

/** A bind address or host name that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || isLoopback(host);
}

