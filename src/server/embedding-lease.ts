import type { FastifyReply } from 'fastify';
import { HearthError } from '../errors/index.js';
import type { Lease } from '../pool/model-pool.js';
import { spaceNameOf, type Verdict } from '../spaces/index.js';
import type { ServerContext } from './context.js';
import type { LeaseRequest } from './model-access.js';

/** A lease for an embedding request, and the space it was served under when the request named one. */
export interface EmbeddingLease {
  lease: Lease;
  space: { name: string; verdict: Verdict; dimensions: number } | undefined;
}

/**
 * Leases the model an embedding request names. `"model": "space:<name>"`
 * is served by the space's model only when the runtime here passes the
 * space's probe check (cached per runtime, so only the first request pays
 * for it); otherwise the request fails with SPACE_MISMATCH, carrying the
 * verdict and the diff, before a single vector is made.
 */
export async function leaseForEmbedding(ctx: ServerContext, model: string, request: LeaseRequest & { dimensions?: number | undefined }): Promise<EmbeddingLease> {
  const name = spaceNameOf(model);
  if (name === undefined) return { lease: await ctx.access.lease(model, request), space: undefined };
  const record = await ctx.spaces.get(name);
  if (request.dimensions !== undefined && request.dimensions !== record.model.dimensions) {
    throw new HearthError('USAGE', `space "${name}" holds ${record.model.dimensions}-dimensional vectors; a request for ${request.dimensions} would not fit it`, {
      details: { space: name, dimensions: request.dimensions, spaceDimensions: record.model.dimensions },
    });
  }
  const { lease, report } = await ctx.spaces.guardedLease(record, request);
  return { lease, space: { name, verdict: report.verdict, dimensions: record.model.dimensions } };
}

/** Tells the client which space served the request and the verdict it was served under. */
export function markSpace(reply: FastifyReply, space: EmbeddingLease['space']): void {
  if (space === undefined) return;
  void reply.header('x-hearth-space', space.name).header('x-hearth-space-verdict', space.verdict);
}
