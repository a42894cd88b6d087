import type { FastifyInstance } from 'fastify';
import { HearthError } from '../../../errors/index.js';
import { catalog, type CatalogModel } from '../../catalog.js';
import type { ServerContext } from '../../context.js';

/** GET /v1/models (every model in the store, as OpenAI lists them) and GET /v1/models/{id} (the SDK's models.retrieve). */
export function openAiModels(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/v1/models', async () => ({ object: 'list', data: (await catalog(ctx)).map(toOpenAi) }));

  // A wildcard, not :id: a qualified name (thebloke/llama-2-7b:latest) holds a slash.
  app.get('/v1/models/*', async (request) => {
    const id = (request.params as { '*': string })['*'];
    const models = await catalog(ctx);
    const byName = models.find((m) => sameName(m.name, id));
    if (byName) return toOpenAi(byName);
    // Any other spelling that names a listed model (a hub reference, a stored file's ref).
    const ref = await ctx.access.names.resolve(id);
    const found = models.find((m) => m.name === ctx.access.names.display(ref));
    if (!found) throw new HearthError('MODEL_NOT_FOUND', `model "${id}" not found`, { hint: 'GET /v1/models lists the models this server has' });
    return toOpenAi(found);
  });
}

function toOpenAi(m: CatalogModel) {
  return { id: m.name, object: 'model', created: Math.floor(Date.parse(m.modifiedAt) / 1000), owned_by: 'hearth' };
}

/** Names are case-insensitive, and a name without a tag means :latest. */
function sameName(listed: string, asked: string): boolean {
  const norm = (name: string) => {
    const lower = name.toLowerCase();
    return /:[^/]*$/.test(lower) ? lower : `${lower}:latest`;
  };
  return listed === asked || norm(listed) === norm(asked);
}
