import cors from '@fastify/cors';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Config } from '../config/index.js';
import type { Logger } from '../log/logger.js';
import type { ModelPool } from '../pool/model-pool.js';
import type { Store } from '../store/index.js';
import { installAuth } from './auth.js';
import type { ServerContext } from './context.js';
import { installErrorHandler } from './http-errors.js';
import { ServerMetrics } from './metrics.js';
import { ModelAccess } from './model-access.js';
import { healthRoutes } from './routes/health.js';
import { ollamaEmbeddings } from './routes/ollama/embed.js';
import { ollamaGeneration } from './routes/ollama/generate.js';
import { ollamaModels } from './routes/ollama/models.js';
import { openAiGeneration } from './routes/openai/chat.js';
import { openAiEmbeddings } from './routes/openai/embeddings.js';
import { openAiModels } from './routes/openai/models.js';
import { statusRoutes } from './routes/status.js';

export interface HearthServer {
  app: FastifyInstance;
  context: ServerContext;
  /** Starts preloading in the background; the returned promise settles when every preload has. */
  warm(): Promise<void>;
  /** Stops accepting requests and waits for in-flight ones; the caller disposes pool and store. */
  close(): Promise<void>;
}

export interface ServerDeps {
  config: Readonly<Config>;
  store: Store;
  pool: ModelPool;
  logger: Logger;
}

/** Builds the HTTP server: health, OpenAI- and Ollama-compatible APIs, metrics. Call app.listen() to serve. */
export async function createServer(deps: ServerDeps): Promise<HearthServer> {
  const { config } = deps;
  // Fastify gives each request a child of this logger, with the request id bound.
  const app: FastifyInstance = Fastify({ loggerInstance: deps.logger as FastifyBaseLogger, bodyLimit: config.server.bodyLimit, return503OnClosing: true });
  const metrics = new ServerMetrics(deps.pool);
  const context: ServerContext = {
    ...deps,
    metrics,
    access: new ModelAccess({
      store: deps.store,
      pool: deps.pool,
      logger: deps.logger,
      maxQueue: config.server.maxQueue,
      autoPull: config.server.autoPull,
      aliases: config.aliases,
      onQueueDepth: (model, depth) => metrics.queueDepth.set({ model }, depth),
    }),
  };
  installErrorHandler(app);
  installAuth(app, config.server.apiKey);
  if (config.server.corsOrigins.length > 0) await app.register(cors, { origin: [...config.server.corsOrigins] });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unknown';
    const model = typeof (request.body as { model?: unknown } | undefined)?.model === 'string' ? (request.body as { model: string }).model : '';
    metrics.requests.inc({ route, method: request.method, status: String(reply.statusCode), model });
    metrics.latency.observe({ route, model }, reply.elapsedTime / 1000);
  });
  healthRoutes(app, context);
  statusRoutes(app, context);
  openAiEmbeddings(app, context);
  openAiGeneration(app, context);
  openAiModels(app, context);
  ollamaEmbeddings(app, context);
  ollamaGeneration(app, context);
  ollamaModels(app, context);
  let closed: Promise<void> | undefined;
  return {
    app,
    context,
    warm: () => deps.pool.preload(config.preload),
    close: () => (closed ??= app.close().finally(() => metrics.dispose())),
  };
}
