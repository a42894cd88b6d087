import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { truncateDimensions } from '../../../runtime/vector.js';
import type { ServerContext } from '../../context.js';
import { leaseForEmbedding, markSpace } from '../../embedding-lease.js';
import { assertInputCount } from '../../input-cap.js';
import { parseBody } from '../../request.js';
import { stringifyWithVectors } from '../../vector-json.js';
import { ollamaCommon } from './options.js';

const embedBody = z.object({
  ...ollamaCommon,
  input: z.union([z.string(), z.array(z.string())]).default([]),
  // Ollama truncates by default; `truncate: false` turns over-long input into a 400.
  truncate: z.boolean().default(true),
  dimensions: z.number().int().positive().optional(),
});

const legacyBody = z.object({ ...ollamaCommon, prompt: z.string() });

/** POST /api/embed, and the legacy /api/embeddings. */
export function ollamaEmbeddings(app: FastifyInstance, ctx: ServerContext): void {
  app.post('/api/embed', async (request, reply) => {
    assertInputCount((request.body as { input?: unknown } | undefined)?.input, ctx.config.server.maxInputs);
    const req = parseBody(embedBody, request.body);
    const inputs = typeof req.input === 'string' ? [req.input] : req.input;
    const started = performance.now();
    const signal = ctx.inflight.signal(request, reply);
    const { lease, space } = await leaseForEmbedding(ctx, req.model, { keepAlive: req.keep_alive, signal, dimensions: req.dimensions });
    markSpace(reply, space);
    const loaded = performance.now();
    try {
      if (inputs.length === 0) return { model: req.model, embeddings: [] };
      const result = await lease.model.embed(inputs, { truncate: req.truncate, signal });
      ctx.metrics.embeddedInputs.inc({ model: ctx.access.names.display(lease.view.ref) }, inputs.length);
      return reply.type('application/json; charset=utf-8').send(
        stringifyWithVectors({
          model: req.model,
          embeddings: truncateDimensions(result.vectors, req.dimensions),
          total_duration: Math.round((performance.now() - started) * 1e6),
          load_duration: Math.round((loaded - started) * 1e6),
          prompt_eval_count: result.tokens.reduce((a, b) => a + b, 0),
        }),
      );
    } finally {
      lease.release();
    }
  });

  app.post('/api/embeddings', async (request, reply) => {
    const req = parseBody(legacyBody, request.body);
    const signal = ctx.inflight.signal(request, reply);
    const { lease, space } = await leaseForEmbedding(ctx, req.model, { keepAlive: req.keep_alive, signal });
    markSpace(reply, space);
    try {
      if (req.prompt === '') return { embedding: [] };
      const result = await lease.model.embed([req.prompt], { truncate: true, signal });
      ctx.metrics.embeddedInputs.inc({ model: ctx.access.names.display(lease.view.ref) }, 1);
      return reply.type('application/json; charset=utf-8').send(stringifyWithVectors({ embedding: result.vectors[0]! }));
    } finally {
      lease.release();
    }
  });
}
