import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Collection } from '../../memory/collection-store.js';
import type { ServerContext } from '../context.js';
import { MigrationRuns, type MigrationRun } from '../migration-runs.js';
import { parseBody } from '../request.js';
import { stringifyWithVectors } from '../vector-json.js';

const metadata = z.record(z.string(), z.unknown());
const createBody = z.union([z.object({ name: z.string(), model: z.string().min(1) }).strict(), z.object({ name: z.string(), space: z.string().min(1) }).strict()]);
const addBody = z.object({
  documents: z.array(z.object({ id: z.string().optional(), text: z.string(), metadata: metadata.optional(), vector: z.array(z.number()).optional() })).min(1),
});
const migrateBody = z.object({ to: z.string().min(1).optional(), swap: z.boolean().default(true) }).strict();
const removeBody = z.object({ ids: z.array(z.string().min(1)).min(1) });
const queryFields = {
  text: z.string().optional(),
  vector: z.array(z.number()).optional(),
};
const queryBody = z.object({
  ...queryFields,
  top_k: z.number().int().min(1).max(1000).default(10),
  min_similarity: z.number().min(-1).max(1).optional(),
  filter: metadata.optional(),
  ef_search: z.number().int().min(1).max(1000).optional(),
});
const diagnoseBody = z.object(queryFields);

function shown(c: Collection): Record<string, unknown> {
  return { object: 'collection', name: c.name, space: c.space, dimensions: c.dimensions, index: c.indexState, recall: c.recall, created_at: c.createdAt };
}

type Named = { Params: { name: string } };

function shownRun(run: MigrationRun): Record<string, unknown> {
  return { object: 'migration', ...run };
}

/**
 * /v1/collections: vector memory over HTTP. Every write and text query is
 * guarded by the collection's embedding space (SPACE_MISMATCH, 409); a
 * model name in a body resolves as in any request, never as a path.
 */
export function collectionRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const migrations = new MigrationRuns(ctx.logger);
  app.addHook('onClose', () => migrations.close());

  app.get('/v1/collections', async () => ({ object: 'list', data: (await (await ctx.memory()).list()).map(shown) }));

  app.post('/v1/collections', async (request, reply) => {
    const req = parseBody(createBody, request.body);
    const signal = ctx.inflight.signal(request, reply);
    const memory = await ctx.memory();
    const collection = 'model' in req ? await ctx.access.named(req.model, (ref) => memory.create(req.name, { model: ref }, signal)) : await memory.create(req.name, { space: req.space }, signal);
    return reply.status(201).send(shown(collection));
  });

  app.get<Named>('/v1/collections/:name', async (request, reply) => {
    const memory = await ctx.memory();
    const stats = await memory.stats(request.params.name, ctx.inflight.signal(request, reply));
    return {
      ...shown(await memory.get(request.params.name)),
      engine: stats.engine,
      documents: stats.documents,
      chunks: stats.chunks,
      invalid_vectors: stats.invalidVectors,
      verdict: stats.verdict,
      migration: stats.reembedding,
      advice: stats.advice,
    };
  });

  // Re-embedding into another space runs in the background; its state is polled here.
  app.post<Named>('/v1/collections/:name/migration', async (request, reply) => {
    const req = parseBody(migrateBody, request.body ?? {});
    const memory = await ctx.memory();
    await memory.get(request.params.name);
    const to = req.to === undefined ? undefined : req.to.startsWith('space:') || (await memory.spaceExists(req.to)) ? { space: req.to.replace(/^space:/, '') } : { model: req.to };
    return reply.status(202).send(shownRun(migrations.start(memory, request.params.name, to, req.swap)));
  });

  app.get<Named>('/v1/collections/:name/migration', async (request) => {
    const run = migrations.get(request.params.name);
    if (run) return shownRun(run);
    const memory = await ctx.memory();
    const stats = await memory.stats(request.params.name);
    return { object: 'migration', collection: request.params.name, status: stats.reembedding ? 'stopped' : 'none', progress: stats.reembedding, report: null, error: null };
  });

  app.delete<Named>('/v1/collections/:name/migration', async (request) => {
    await migrations.stop(request.params.name);
    await (await ctx.memory()).abortMigration(request.params.name);
    return { object: 'migration', collection: request.params.name, status: 'abandoned' };
  });

  // Sources ingestion could not read into the collection, with their reasons (retried by POST /v1/jobs with retry_dead).
  app.get<Named>('/v1/collections/:name/dead-letters', async (request) => ({ object: 'list', data: await (await ctx.memory()).deadLetters(request.params.name) }));

  app.post('/v1/collections/gc', async () => ({ object: 'list', data: await (await ctx.memory()).gc() }));

  app.delete<Named>('/v1/collections/:name', async (request) => {
    await (await ctx.memory()).drop(request.params.name);
    return { object: 'collection', name: request.params.name, deleted: true };
  });

  app.post<Named>('/v1/collections/:name/documents', async (request, reply) => {
    const req = parseBody(addBody, request.body);
    return (await ctx.memory()).add(request.params.name, req.documents, ctx.inflight.signal(request, reply));
  });

  app.delete<Named>('/v1/collections/:name/documents', async (request) => {
    const req = parseBody(removeBody, request.body);
    return { deleted: await (await ctx.memory()).remove(request.params.name, req.ids) };
  });

  app.post<Named>('/v1/collections/:name/query', async (request, reply) => {
    const req = parseBody(queryBody, request.body);
    const hits = await (await ctx.memory()).query(request.params.name, {
      text: req.text,
      vector: req.vector,
      topK: req.top_k,
      minSimilarity: req.min_similarity,
      filter: req.filter,
      efSearch: req.ef_search,
      signal: ctx.inflight.signal(request, reply),
    });
    return reply.type('application/json; charset=utf-8').send(
      stringifyWithVectors({ object: 'list', data: hits.map((h) => ({ id: h.docId, chunk: h.chunk, similarity: h.similarity, text: h.text, metadata: h.metadata })) }),
    );
  });

  app.post<Named>('/v1/collections/:name/diagnose', async (request, reply) => {
    const req = parseBody(diagnoseBody, request.body);
    return (await ctx.memory()).diagnose(request.params.name, { text: req.text, vector: req.vector, signal: ctx.inflight.signal(request, reply) });
  });
}
