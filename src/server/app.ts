import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Config } from '../config/index.js';
import type { Logger } from '../log/logger.js';
import type { ModelPool } from '../pool/model-pool.js';
import type { Store } from '../store/index.js';
import { HEARTH_VERSION } from '../version.js';
import { installErrorHandler } from './http-errors.js';
import { healthRoutes } from './routes/health.js';

export interface HearthServer {
  app: FastifyInstance;
  /** Starts preloading in the background; the returned promise settles when every preload has. */
  warm(): Promise<void>;
  /** Stops accepting requests and waits for in-flight ones; the caller disposes pool and store. */
  close(): Promise<void>;
}

export function createServer(deps: { config: Readonly<Config>; store: Store; pool: ModelPool; logger: Logger }): HearthServer {
  // Fastify gives each request a child of this logger (request id bound), per our logging rule.
  const app: FastifyInstance = Fastify({ loggerInstance: deps.logger as FastifyBaseLogger, bodyLimit: 1024 * 1024 });
  installErrorHandler(app);
  healthRoutes(app, { store: deps.store, pool: deps.pool });
  app.get('/api/version', async () => ({ version: HEARTH_VERSION }));
  let closed: Promise<void> | undefined;
  return {
    app,
    warm: () => deps.pool.preload(deps.config.preload),
    close: () => (closed ??= app.close()),
  };
}
