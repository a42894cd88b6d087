import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { HearthError } from '../../errors/index.js';
import { planEnrichment, type EnrichRequest } from '../../jobs/enrich/enrich-queue.js';
import { notFound, type FlowSpec, type JobStatus } from '../../jobs/executor.js';
import { planIngestion, type IngestRequest } from '../../jobs/ingest/ingest-queue.js';
import type { ServerContext } from '../context.js';
import { parseBody } from '../request.js';
import { openStream } from '../streaming.js';

const jobBody = z.object({ type: z.enum(['enrich', 'ingest']) }).loose();
const idParams = z.object({ id: z.string().min(1) });

/**
 * Jobs over HTTP: `POST /v1/jobs` plans the job (the transcript read and
 * chunked, the model checked) and queues it, answering 202 with its id;
 * `GET /v1/jobs/{id}` is its state, progress and result; `/events` streams
 * every change as SSE until it ends; `DELETE` cancels it.
 */
export function jobRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post('/v1/jobs', async (request, reply) => {
    const { type, ...body } = parseBody(jobBody, request.body);
    const signal = ctx.inflight.signal(request, reply);
    const flow = type === 'ingest' ? await planIngest(ctx, body) : await planEnrich(ctx, body, signal);
    const id = await ctx.jobs.submit(flow);
    return reply.code(202).send(view((await ctx.jobs.get(id))!));
  });

  app.get('/v1/jobs/:id', async (request) => {
    const { id } = parseBody(idParams, request.params);
    const status = await ctx.jobs.get(id);
    if (!status) throw notFound(id);
    return view(status);
  });

  app.get('/v1/jobs/:id/events', async (request, reply) => {
    const { id } = parseBody(idParams, request.params);
    if (!(await ctx.jobs.get(id))) throw notFound(id);
    const signal = ctx.inflight.signal(request, reply);
    const stream = openStream(request, reply, 'sse', signal);
    try {
      for await (const status of ctx.jobs.watch(id, signal)) stream.send(view(status));
      stream.end();
    } catch (error) {
      stream.end(error);
    }
    return reply;
  });

  app.delete('/v1/jobs/:id', async (request) => {
    const { id } = parseBody(idParams, request.params);
    const status = await ctx.jobs.get(id);
    if (!status) throw notFound(id);
    if (!(await ctx.jobs.cancel(id))) {
      throw new HearthError('USAGE', `job ${id} has already ended (${status.state})`, { details: { job: id, state: status.state } });
    }
    return view((await ctx.jobs.get(id))!);
  });
}

async function planEnrich(ctx: ServerContext, body: Record<string, unknown>, signal: AbortSignal): Promise<FlowSpec> {
  // A model name resolves as in every API: never a path or a URL from a client.
  const model = typeof body.model === 'string' ? await ctx.access.resolve(body.model) : body.model;
  return (await planEnrichment(ctx.pool, { ...body, model } as EnrichRequest, signal)).flow;
}

/** Paths are the server's own files: only under the operator's HEARTH_INGEST_ROOTS, and relative ones are taken from the first root. */
async function planIngest(ctx: ServerContext, body: Record<string, unknown>): Promise<FlowSpec> {
  const roots = ctx.config.jobs.ingestRoots;
  if (roots.length === 0 && Array.isArray(body.paths) && body.paths.length > 0) {
    throw new HearthError('PATH_NOT_ALLOWED', 'this server ingests no paths: its operator sets HEARTH_INGEST_ROOTS to the folders clients may ingest from', { details: { field: 'paths' } });
  }
  return (await planIngestion(await ctx.memory(), body as IngestRequest, { cwd: roots[0] ?? '/', roots })).flow;
}

function view(status: JobStatus) {
  return { object: 'job', ...status };
}
