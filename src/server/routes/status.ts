import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';

/** /ready for orchestrators, /metrics for Prometheus, and GET / like Ollama's liveness line. */
export function statusRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/', async (_request, reply) => reply.type('text/plain').send('hearth is running'));

  app.get('/ready', async (_request, reply) => {
    const preloads = ctx.pool.list().filter((m) => ctx.config.preload.includes(m.name));
    const ready = preloads.every((m) => m.state === 'ready');
    return reply.status(ready ? 200 : 503).send({ ready, models: preloads.map((m) => ({ name: m.name, state: m.state, ...(m.error ? { error: m.error } : {}) })) });
  });

  app.get('/metrics', async (_request, reply) => reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics()));
}
