import type { FastifyInstance } from 'fastify';
import { catalog } from '../../catalog.js';
import type { ServerContext } from '../../context.js';

/** GET /v1/models: every model in the store, as OpenAI lists them. */
export function openAiModels(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/v1/models', async () => ({
    object: 'list',
    data: (await catalog(ctx)).map((m) => ({ id: m.name, object: 'model', created: Math.floor(Date.parse(m.modifiedAt) / 1000), owned_by: 'hearth' })),
  }));
}
