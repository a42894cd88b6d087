import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { HearthError } from '../../errors/index.js';
import type { Lease } from '../../pool/model-pool.js';
import { asSpeakerModel, type SpeakerModel } from '../../runtime/audio/speaker-guard.js';
import type { AudioInput } from '../../runtime/types.js';
import { cosine } from '../../runtime/vector.js';
import { clipsOf, parseAudioFields, readAudioUpload } from '../audio-request.js';
import type { ServerContext } from '../context.js';
import { speakerRoutes } from './speakers.js';
import { stringifyWithVectors } from '../vector-json.js';

const embeddingFields = z.object({
  model: z.string().min(1),
  normalize: z.boolean().default(false),
  encoding_format: z.enum(['float', 'base64']).default('float'),
});

const verifyFields = z.object({
  model: z.string().min(1),
  threshold: z.number().min(-1).max(1).optional(),
});

/**
 * Speaker embeddings from audio (SpeechBrain ECAPA-TDNN repos):
 * POST /v1/audio/embeddings and POST /v1/audio/verify, and the enrolled
 * speakers (speakers.ts), each taking a multipart upload or JSON with base64 WAV.
 */
export async function audioRoutes(app: FastifyInstance, ctx: ServerContext): Promise<void> {
  const { maxSeconds, verifyThreshold } = ctx.config.audio;
  const limits = { maxSeconds };
  // In a plugin of its own, so the multipart parser applies to these routes only.
  await app.register(async (scope) => {
    await scope.register(multipart, { limits: { fileSize: ctx.config.server.bodyLimit, files: ctx.config.server.maxInputs, fields: 16 } });

    scope.post('/v1/audio/embeddings', async (request, reply) => {
      const upload = await readAudioUpload(request, ['input']);
      const req = parseAudioFields(embeddingFields, upload.fields, request.isMultipart());
      const clips = [...clipsOf(upload, 'input', limits), ...clipsOf(upload, 'file', limits)];
      if (clips.length === 0) throw new HearthError('USAGE', 'invalid request: send the audio as file parts (multipart) or as base64 in "input" (JSON)', { details: { field: 'input' } });
      if (clips.length > ctx.config.server.maxInputs) throw new HearthError('TOO_MANY_INPUTS', `${clips.length} clips in one request; this server takes up to ${ctx.config.server.maxInputs}`);
      const vectors = await withSpeakerModel(ctx, req.model, request, reply, (model, signal) => model.embedAudio(clips, { normalize: req.normalize, signal }));
      const seconds = clips.map(secondsOf);
      return reply.type('application/json; charset=utf-8').send(
        stringifyWithVectors({
          object: 'list',
          model: req.model,
          dims: vectors[0]!.length,
          normalized: req.normalize,
          data: vectors.map((vector, index) => ({
            object: 'embedding',
            index,
            seconds: seconds[index],
            embedding: req.encoding_format === 'base64' ? Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('base64') : vector,
          })),
          usage: { clips: clips.length, seconds: seconds.reduce((a, b) => a + b, 0) },
        }),
      );
    });

    scope.post('/v1/audio/verify', async (request, reply) => {
      const upload = await readAudioUpload(request, ['a', 'b']);
      const req = parseAudioFields(verifyFields, upload.fields, request.isMultipart());
      const pair = verifyPair(upload.clips.has('file') ? clipsOf(upload, 'file', limits) : [...clipsOf(upload, 'a', limits), ...clipsOf(upload, 'b', limits)]);
      const [a, b] = await withSpeakerModel(ctx, req.model, request, reply, (model, signal) => model.embedAudio(pair, { signal }));
      // SpeechBrain's verify_batch score: the cosine of the two embeddings, as encode_batch gives them.
      const score = cosine(a!, b!);
      const threshold = req.threshold ?? verifyThreshold;
      return { model: req.model, score, threshold, same_speaker: score > threshold };
    });

    speakerRoutes(scope, ctx, limits);
  });
}

async function withSpeakerModel<T>(ctx: ServerContext, name: string, request: FastifyRequest, reply: FastifyReply, run: (model: SpeakerModel, signal: AbortSignal) => Promise<T>): Promise<T> {
  const signal = ctx.inflight.signal(request, reply);
  const lease: Lease = await ctx.access.lease(name, { signal });
  try {
    return await run(asSpeakerModel(lease.model, name), signal);
  } finally {
    lease.release();
  }
}

function verifyPair(clips: AudioInput[]): AudioInput[] {
  if (clips.length !== 2) {
    throw new HearthError('USAGE', `invalid request: verify takes exactly two clips ("a" and "b", or two "file" parts), got ${clips.length}`, { details: { clips: clips.length } });
  }
  return clips;
}

function secondsOf(clip: AudioInput): number {
  return (clip.channels[0]?.length ?? 0) / clip.sampleRate;
}
