import { z } from 'zod';
import { HearthError, parseInput } from '../../errors/index.js';
import type { ModelPool } from '../../pool/model-pool.js';
import type { FlowSpec, JobProcessors } from '../executor.js';
import { chunkSegments, type Chunk } from '../transcript/chunker.js';
import { parseTranscript, TRANSCRIPT_FORMATS } from '../transcript/parse-transcript.js';
import type { Segment } from '../transcript/segments.js';
import { aggregate } from './aggregate.js';
import { enrichChunk, type ChunkOutput, type GenerationSettings } from './enrich-chunk.js';
import { parseTasks, type EnrichTasks } from './tasks.js';

export const ENRICH_QUEUE = 'enrich';

/** An enrichment as a client asks for it (HTTP and CLI alike). */
export const enrichRequest = z.object({
  model: z.string().min(1),
  /** The transcript's text (JSON segments, SRT, WebVTT or plain text). */
  transcript: z.string().min(1),
  format: z.enum(TRANSCRIPT_FORMATS as [string, ...string[]]).optional(),
  tasks: z.union([z.string(), z.array(z.string())]).transform((t) => (Array.isArray(t) ? t : t.split(','))),
  custom: z.object({ prompt: z.string().min(1), schema: z.record(z.string(), z.unknown()) }).optional(),
  chunk_tokens: z.number().int().min(8).optional(),
  overlap_tokens: z.number().int().min(0).optional(),
  temperature: z.number().min(0).max(2).default(0),
  seed: z.number().int().optional(),
});
export type EnrichRequest = z.input<typeof enrichRequest>;

interface EnrichJobData {
  settings: GenerationSettings;
  tasks: EnrichTasks;
  segments: Segment[];
}

/** Of the model's context, what one chunk may own by default: its answer, the overlap and the prompt need the rest. */
const CONTEXT_SHARE = 4;
const DEFAULT_CHUNK_TOKENS = 1024;
const DEFAULT_OVERLAP = 0.1;

/**
 * An enrichment as a job: the transcript read, and cut by the model's own
 * tokenizer into chunks, before anything is queued, so a malformed
 * transcript or an unknown model is an error now rather than a failed job.
 */
export async function planEnrichment(pool: ModelPool, input: EnrichRequest, signal?: AbortSignal): Promise<{ flow: FlowSpec; parallel: number }> {
  const request = parseInput(enrichRequest, input);
  const tasks = parseTasks(request.tasks, request.custom);
  const segments = parseTranscript(request.transcript, request.format as Parameters<typeof parseTranscript>[1]);
  const lease = await pool.acquire(request.model, { signal });
  let chunks: Chunk[];
  let parallel: number;
  try {
    parallel = lease.model.identity.parallel;
    if (!lease.model.info.capabilities.includes('generation')) {
      throw new HearthError('MODEL_UNSUPPORTED', `${lease.view.name} is an embedding model; it cannot enrich a transcript`, { details: { field: 'model' } });
    }
    const maxTokens = request.chunk_tokens ?? Math.min(DEFAULT_CHUNK_TOKENS, Math.floor(lease.model.identity.contextSize / CONTEXT_SHARE));
    chunks = chunkSegments(segments, { maxTokens, overlapTokens: request.overlap_tokens ?? Math.floor(maxTokens * DEFAULT_OVERLAP), countTokens: (t) => lease.model.countTokens(t) });
  } finally {
    lease.release();
  }
  const data: EnrichJobData = { settings: { model: request.model, temperature: request.temperature, seed: request.seed }, tasks, segments };
  return { flow: { queue: ENRICH_QUEUE, data, children: chunks }, parallel };
}

/** What an enrichment job's chunks and its aggregate do, on whichever executor runs them. */
export function enrichProcessors(pool: ModelPool): JobProcessors {
  return {
    child: (data, chunk, _index, ctx) => {
      const d = data as EnrichJobData;
      return enrichChunk(pool, d.settings, d.tasks, chunk as Chunk, ctx.signal);
    },
    parent: (data, results, ctx) => {
      const d = data as EnrichJobData;
      return aggregate(pool, d.settings, d.tasks, d.segments, results as ChunkOutput[], ctx.signal);
    },
  };
}
