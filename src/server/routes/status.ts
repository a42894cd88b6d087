import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { publicMessage } from '../redact.js';

/** /ready for orchestrators, /metrics for Prometheus, and GET / like Ollama's liveness line. */
export function statusRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/', async (_request, reply) => reply.type('text/plain').send('hearth is running'));

  app.get('/ready', async (_request, reply) => {
    // Judge by the configured names: a preload that has not even started is not ready.
    const views = ctx.pool.list();
    const models = ctx.config.preload.map((name) => {
      const view = views.find((m) => m.name === name);
      return { name: ctx.access.names.display(name), state: view?.state ?? 'cached', ...(view?.error ? { error: publicMessage(view.error) } : {}) };
    });
    const ready = models.every((m) => m.state === 'ready');
    return reply.status(ready ? 200 : 503).send({ ready, models });
  });

  app.get('/metrics', async (_request, reply) => reply.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics()));
}
