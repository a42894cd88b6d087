import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { truncateDimensions } from '../../../runtime/vector.js';
import type { ServerContext } from '../../context.js';
import { leaseForEmbedding, markSpace } from '../../embedding-lease.js';
import { assertInputCount } from '../../input-cap.js';
import { parseBody } from '../../request.js';
import { stringifyWithVectors } from '../../vector-json.js';

const body = z.object({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(z.string()).min(1), z.array(z.number().int()).min(1), z.array(z.array(z.number().int()).min(1)).min(1)]),
  encoding_format: z.enum(['float', 'base64']).default('float'),
  dimensions: z.number().int().positive().optional(),
  user: z.string().optional(),
});

/** POST /v1/embeddings: strings or token arrays, float or base64; the model batches across requests. */
export function openAiEmbeddings(app: FastifyInstance, ctx: ServerContext): void {
  app.post('/v1/embeddings', async (request, reply) => {
    assertInputCount((request.body as { input?: unknown } | undefined)?.input, ctx.config.server.maxInputs);
    const req = parseBody(body, request.body);
    const inputs = typeof req.input === 'string' ? [req.input] : isTokenArray(req.input) ? [req.input] : req.input;
    const signal = ctx.inflight.signal(request, reply);
    const { lease, space } = await leaseForEmbedding(ctx, req.model, { signal, dimensions: req.dimensions });
    markSpace(reply, space);
    try {
      const result = await lease.model.embed(inputs, { truncate: false, signal });
      const vectors = truncateDimensions(result.vectors, req.dimensions);
      ctx.metrics.embeddedInputs.inc({ model: ctx.access.names.display(lease.view.ref) }, inputs.length);
      const tokens = result.tokens.reduce((a, b) => a + b, 0);
      return reply.type('application/json; charset=utf-8').send(
        stringifyWithVectors({
          object: 'list',
          model: req.model,
          data: vectors.map((vector, index) => ({
            object: 'embedding',
            index,
            embedding: req.encoding_format === 'base64' ? Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('base64') : vector,
          })),
          usage: { prompt_tokens: tokens, total_tokens: tokens },
        }),
      );
    } finally {
      lease.release();
    }
  });
}

function isTokenArray(input: unknown[]): input is number[] {
  return typeof input[0] === 'number';
}
