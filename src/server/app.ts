import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Config } from '../config/index.js';
import type { Logger } from '../log/logger.js';
import type { Store } from '../store/index.js';
import { installErrorHandler } from './http-errors.js';
import { ModelRegistry } from './model-registry.js';
import { healthRoutes } from './routes/health.js';
import { HEARTH_VERSION } from '../version.js';

export interface HearthServer {
  app: FastifyInstance;
  models: ModelRegistry;
  /** Starts background preloads; resolves once they have all settled (serving starts before). */
  warm(): Promise<void>;
  close(): Promise<void>;
}

export function createServer(deps: { config: Readonly<Config>; store: Store; logger: Logger }): HearthServer {
  // Fastify gives each request a child of this logger (request id bound), per our logging rule.
  const app: FastifyInstance = Fastify({ loggerInstance: deps.logger as FastifyBaseLogger, bodyLimit: 1024 * 1024 });
  const models = new ModelRegistry(deps.store, deps.logger, deps.config.preload);
  const lifetime = new AbortController();
  installErrorHandler(app);
  healthRoutes(app, { store: deps.store, models });
  app.get('/api/version', async () => ({ version: HEARTH_VERSION }));
  let closed: Promise<void> | undefined;
  return {
    app,
    models,
    warm: () => models.warm(lifetime.signal),
    close: () =>
      (closed ??= (async () => {
        lifetime.abort();
        await app.close();
      })()),
  };
}
