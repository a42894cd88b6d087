import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { SpaceListing, SpaceRecord } from '../../spaces/index.js';
import type { ServerContext } from '../context.js';
import { parseBody } from '../request.js';

const createBody = z.object({ name: z.string(), model: z.string().min(1) });
const checkBody = z.object({ model: z.string().min(1).optional() }).default({});

/** A space as the API shows it: everything but the probe vectors. */
export function spaceSummary(record: SpaceRecord): Record<string, unknown> {
  const { probeVectors, format: _format, version: _version, ...rest } = record;
  return { object: 'space', ...rest, probes: probeVectors.length };
}

function listed(listing: SpaceListing): Record<string, unknown> {
  if (listing.record) return spaceSummary(listing.record);
  return { object: 'space', name: listing.name, error: { code: listing.error.code, message: listing.error.message } };
}

/**
 * /v1/spaces: embedding spaces over HTTP. Model names in bodies resolve as
 * in any request (aliases, listed names, hub references), never as paths.
 */
export function spaceRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/v1/spaces', async () => ({ object: 'list', data: (await ctx.spaces.list()).map(listed) }));

  app.post('/v1/spaces', async (request, reply) => {
    const req = parseBody(createBody, request.body);
    const signal = ctx.inflight.signal(request, reply);
    const record = await ctx.access.named(req.model, (ref) => ctx.spaces.create(req.name, ref, { signal }));
    return reply.status(201).send(spaceSummary(record));
  });

  app.get<{ Params: { name: string } }>('/v1/spaces/:name', async (request) => spaceSummary(await ctx.spaces.get(request.params.name)));

  app.delete<{ Params: { name: string } }>('/v1/spaces/:name', async (request) => {
    await ctx.spaces.remove(request.params.name);
    return { object: 'space', name: request.params.name, deleted: true };
  });

  app.post<{ Params: { name: string } }>('/v1/spaces/:name/check', async (request, reply) => {
    const req = parseBody(checkBody, request.body ?? {});
    const signal = ctx.inflight.signal(request, reply);
    const model = req.model === undefined ? undefined : await ctx.access.named(req.model, async (ref) => ref);
    return ctx.spaces.check(request.params.name, { model, signal });
  });
}
