import cors from '@fastify/cors';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Config } from '../config/index.js';
import { HearthError } from '../errors/index.js';
import { enrichProcessors, ENRICH_QUEUE } from '../jobs/enrich/enrich-queue.js';
import { ingestProcessors, INGEST_QUEUE } from '../jobs/ingest/ingest-queue.js';
import { createJobExecutor } from '../jobs/create-executor.js';
import type { Logger } from '../log/logger.js';
import type { ModelPool } from '../pool/model-pool.js';
import type { Store } from '../store/index.js';
import { installAuth } from './auth.js';
import { installBodyParsers } from './body-parsers.js';
import type { ServerContext } from './context.js';
import { installHostGuard } from './host-guard.js';
import { installErrorHandler } from './http-errors.js';
import { InFlight } from './in-flight.js';
import { ServerMetrics } from './metrics.js';
import { ModelAccess } from './model-access.js';
import { createSpaces } from '../spaces/index.js';
import { lazyMemory } from './lazy-memory.js';
import { healthRoutes } from './routes/health.js';
import { ollamaEmbeddings } from './routes/ollama/embed.js';
import { ollamaGeneration } from './routes/ollama/generate.js';
import { ollamaDefinitions } from './routes/ollama/definitions.js';
import { audioRoutes } from './routes/audio.js';
import { jobRoutes } from './routes/jobs.js';
import { ollamaModels } from './routes/ollama/models.js';
import { openAiGeneration } from './routes/openai/chat.js';
import { openAiEmbeddings } from './routes/openai/embeddings.js';
import { openAiModels } from './routes/openai/models.js';
import { collectionRoutes } from './routes/collections.js';
import { spaceRoutes } from './routes/spaces.js';
import { statusRoutes } from './routes/status.js';

export interface HearthServer {
  app: FastifyInstance;
  context: ServerContext;
  /** Starts preloading in the background; the returned promise settles when every preload has. */
  warm(): Promise<void>;
  /**
   * Stops accepting requests and waits for in-flight ones, for at most the
   * drain timeout; then aborts what still runs. The caller disposes pool and store.
   */
  close(): Promise<void>;
  /** Ends every request still running now, without waiting for the drain timeout. */
  hurry(): void;
  /** Checks every embedding space whose model is a warm preload, so requests naming one find their verdict cached. */
  checkPreloadedSpaces(): Promise<void>;
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
  const app: FastifyInstance = Fastify({
    // Fastify gives each request a child of this logger, with the request id bound.
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: config.server.bodyLimit,
    // A client gets this long to send its whole request: a slow body cannot hold a connection for ever.
    requestTimeout: config.server.requestTimeout,
    // Node checks that timeout on this interval (30 s by default), and applies the larger of it and
    // headersTimeout (60 s by default) to the whole request; both would stretch it.
    http: { connectionsCheckingInterval: Math.min(1000, config.server.requestTimeout), headersTimeout: Math.min(60_000, config.server.requestTimeout) },
    return503OnClosing: true,
    // Fastify's own two lines per request are off; requests are logged below, at info only when asked for.
    logController: new LogController({ disableRequestLogging: true }),
  });
  const metrics = new ServerMetrics(deps.pool);
  const access = new ModelAccess({
    store: deps.store,
    pool: deps.pool,
    logger: deps.logger,
    maxQueue: config.server.maxQueue,
    autoPull: config.server.autoPull,
    // An idle model's series is removed, so names that came and went (unknown ones among them) leave no label behind.
    onQueueDepth: (model, depth) => (depth > 0 ? metrics.queueDepth.set({ model }, depth) : metrics.queueDepth.remove({ model })),
  });
  const spaces = createSpaces({ home: config.home, logger: deps.logger, acquire: (ref, options) => access.leaseRef(ref, options) });
  const memory = lazyMemory(config, spaces, deps.logger);
  // The server is also a worker of its own jobs; `hearth worker` processes add to it on Redis.
  const jobs = await createJobExecutor(config, deps.logger);
  jobs.register(ENRICH_QUEUE, enrichProcessors(deps.pool));
  jobs.register(INGEST_QUEUE, ingestProcessors(memory.get, metrics.onIngested));
  const context: ServerContext = { ...deps, metrics, access, spaces, memory: memory.get, inflight: new InFlight(), jobs };
  installErrorHandler(app);
  // Every request gets its abort signal on arrival: a client that leaves early still cancels its work.
  app.addHook('onRequest', async (request, reply) => {
    context.inflight.signal(request, reply);
  });
  installHostGuard(app, config.server);
  installAuth(app, config.server.apiKey);
  if (config.server.corsOrigins.length > 0) await app.register(cors, { origin: [...config.server.corsOrigins] });
  installBodyParsers(app);
  const requestLevel = config.server.logRequests ? 'info' : 'debug';
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unknown';
    // Only names of known models become labels; anything a client makes up is counted as "other".
    // A request served under a space is labelled by it (the space exists: it served the request).
    const space = reply.getHeader('x-hearth-space');
    const model = typeof space === 'string' ? `space:${space}` : access.names.label((request.body as { model?: unknown } | undefined)?.model);
    metrics.requests.inc({ route, method: request.method, status: String(reply.statusCode), model });
    metrics.latency.observe({ route, model }, reply.elapsedTime / 1000);
    request.log[requestLevel]({ method: request.method, url: request.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });
  healthRoutes(app, context);
  statusRoutes(app, context);
  openAiEmbeddings(app, context);
  openAiGeneration(app, context);
  openAiModels(app, context);
  ollamaEmbeddings(app, context);
  ollamaGeneration(app, context);
  ollamaModels(app, context);
  ollamaDefinitions(app, context);
  spaceRoutes(app, context);
  collectionRoutes(app, context);
  jobRoutes(app, context);
  await audioRoutes(app, context);
  void access.names.index().catch((error: unknown) => deps.logger.warn({ err: (error as Error).message }, 'cannot list the store for model names'));
  // While draining, responses close their connection, so keep-alive clients do not hold the close open.
  app.addHook('onSend', async (_request, reply) => {
    if (context.inflight.draining) void reply.header('connection', 'close');
  });
  const lifetime = new AbortController();
  const checkPreloadedSpaces = () => {
    const preloaded = new Set(deps.pool.list().filter((v) => v.pinned && v.state === 'ready').map((v) => v.ref));
    return spaces.warm((record) => preloaded.has(record.model.ref), lifetime.signal);
  };
  let closed: Promise<void> | undefined;
  const hurry = () => context.inflight.abortAll(new HearthError('SHUTTING_DOWN', 'the server is shutting down'));
  const close = async () => {
    lifetime.abort(new HearthError('SHUTTING_DOWN', 'the server is shutting down'));
    const drain = setTimeout(() => {
      deps.logger.warn({ requests: context.inflight.size }, 'drain timeout: aborting requests still running');
      hurry();
    }, config.server.drainTimeout);
    // Streams write their own headers; once the last request is done, what is left open is idle.
    context.inflight.drain(() => app.server.closeIdleConnections());
    try {
      await app.close();
    } finally {
      clearTimeout(drain);
      metrics.dispose();
      // Running jobs stop where they are and resume at the next start.
      await jobs.dispose();
      // After the last request: the database closes, and the embedded one's folder is free for the CLI.
      await memory.close();
    }
  };
  return {
    app,
    context,
    warm: async () => {
      await deps.pool.preload(config.preload);
      await checkPreloadedSpaces();
    },
    checkPreloadedSpaces,
    close: () => (closed ??= close()),
    hurry,
  };
}
