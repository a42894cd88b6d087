import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { HearthError } from '../../errors/index.js';
import { DEFAULT_SPEAKER_COLLECTION, Speakers, type SpeakerRecord } from '../../memory/speakers.js';
import { clipsOf, parseAudioFields, readAudioUpload } from '../audio-request.js';
import type { ServerContext } from '../context.js';
import { parseBody } from '../request.js';

const collection = z.string().min(1).default(DEFAULT_SPEAKER_COLLECTION);

const enrollFields = z.object({ name: z.string().min(1), model: z.string().min(1).optional(), collection });
const identifyFields = z.object({ collection, top_k: z.number().int().min(1).max(100).default(5), threshold: z.number().min(-1).max(1).optional() });
const inCollection = z.object({ collection });

/**
 * Enrolled speakers, kept in a vector-memory collection in the speaker
 * model's space: POST /v1/speakers (enroll from clips, averaged),
 * POST /v1/speakers/identify (top-k with scores), GET and DELETE.
 * Clips come as multipart `file` parts or as base64 WAV in `input`.
 */
export function speakerRoutes(app: FastifyInstance, ctx: ServerContext, limits: { maxSeconds: number }): void {
  const speakers = async () => new Speakers(await ctx.memory());

  app.post('/v1/speakers', async (request, reply) => {
    const upload = await readAudioUpload(request, ['input']);
    const req = parseAudioFields(enrollFields, upload.fields, request.isMultipart());
    const clips = [...clipsOf(upload, 'input', limits), ...clipsOf(upload, 'file', limits)];
    const signal = ctx.inflight.signal(request, reply);
    const registry = await speakers();
    const enroll = (model: string | undefined) => registry.enroll(req.collection, req.name, clips, { model, signal });
    // A served name (an alias, a name from /v1/models) becomes the reference the collection's space records.
    const record = req.model === undefined ? await enroll(undefined) : await ctx.access.named(req.model, enroll);
    return reply.status(201).send({ object: 'speaker', collection: req.collection, ...shown(record) });
  });

  app.post('/v1/speakers/identify', async (request, reply) => {
    const upload = await readAudioUpload(request, ['input']);
    const req = parseAudioFields(identifyFields, upload.fields, request.isMultipart());
    const clips = [...clipsOf(upload, 'input', limits), ...clipsOf(upload, 'file', limits)];
    if (clips.length !== 1) throw new HearthError('USAGE', `invalid request: identify takes one clip, got ${clips.length}`, { details: { clips: clips.length } });
    const signal = ctx.inflight.signal(request, reply);
    const threshold = req.threshold ?? ctx.config.audio.verifyThreshold;
    const result = await (await speakers()).identify(req.collection, clips[0]!, { topK: req.top_k, threshold, signal });
    return { object: 'speaker.identification', collection: req.collection, ...result };
  });

  app.get('/v1/speakers', async (request) => {
    const req = parseBody(inCollection, request.query);
    return { object: 'list', collection: req.collection, data: (await (await speakers()).list(req.collection)).map(shown) };
  });

  app.delete<{ Params: { name: string } }>('/v1/speakers/:name', async (request) => {
    const req = parseBody(inCollection, request.query);
    await (await speakers()).remove(req.collection, request.params.name);
    return { object: 'speaker', collection: req.collection, name: request.params.name, deleted: true };
  });
}

function shown(record: SpeakerRecord): Record<string, unknown> {
  return { name: record.name, clips: record.clips, seconds: record.seconds, enrolled_at: record.enrolledAt };
}
