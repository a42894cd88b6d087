import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { HearthError } from '../errors/index.js';
import { readClip, type ClipLimits } from '../runtime/audio/read-clip.js';
import type { AudioInput } from '../runtime/types.js';
import { parseBody } from './request.js';

/** An audio request's fields and clips, from a multipart upload or from JSON with base64 audio. */
export interface AudioUpload {
  fields: Record<string, unknown>;
  /** Clips by field name, in the order they came: several `file` parts make a list. */
  clips: Map<string, Uint8Array[]>;
}

/**
 * Reads either form a client may send: `multipart/form-data` with the audio as
 * file parts and the other fields as text parts (what `curl -F file=@a.wav`
 * sends), or JSON whose `audioFields` hold base64 WAV (or `data:` URLs).
 */
export async function readAudioUpload(request: FastifyRequest, audioFields: readonly string[]): Promise<AudioUpload> {
  if (request.isMultipart()) return readMultipart(request);
  const body = (request.body ?? {}) as Record<string, unknown>;
  if (typeof body !== 'object' || Array.isArray(body)) throw new HearthError('USAGE', 'invalid request: send a JSON object or a multipart form');
  const clips = new Map<string, Uint8Array[]>();
  const fields: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(body)) {
    if (!audioFields.includes(name)) fields[name] = value;
    else if (typeof value === 'string') clips.set(name, [fromBase64(value, name)]);
    else if (Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string')) clips.set(name, value.map((v, i) => fromBase64(v as string, `${name}[${i}]`)));
    else throw new HearthError('USAGE', `invalid request: ${name}: expected base64 audio, or a list of them`, { details: { field: name } });
  }
  return { fields, clips };
}

async function readMultipart(request: FastifyRequest): Promise<AudioUpload> {
  const clips = new Map<string, Uint8Array[]>();
  const fields: Record<string, unknown> = {};
  try {
    for await (const part of request.parts()) {
      if (part.type === 'file') clips.set(part.fieldname, [...(clips.get(part.fieldname) ?? []), await part.toBuffer()]);
      else fields[part.fieldname] = part.value;
    }
  } catch (error) {
    throw multipartError(error);
  }
  return { fields, clips };
}

/** @fastify/multipart's limit errors as hearth's codes; anything else is a malformed form. */
function multipartError(error: unknown): HearthError {
  if (error instanceof HearthError) return error;
  const code = (error as { code?: string }).code;
  const message = (error as Error).message;
  if (code === 'FST_REQ_FILE_TOO_LARGE' || code === 'FST_PARTS_LIMIT' || code === 'FST_FILES_LIMIT' || code === 'FST_FIELDS_LIMIT') {
    return new HearthError('BODY_TOO_LARGE', `the upload is too large: ${message}`, { cause: error });
  }
  return new HearthError('USAGE', `invalid multipart form: ${message}`, { cause: error });
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function fromBase64(text: string, field: string): Uint8Array {
  const payload = text.startsWith('data:') ? text.slice(text.indexOf(',') + 1) : text;
  const compact = payload.replace(/\s+/g, '');
  // Buffer.from skips characters that are not base64, so a garbled string would decode to other audio.
  if (compact.length === 0 || !BASE64.test(compact)) {
    throw new HearthError('USAGE', `invalid request: ${field} is not base64 audio`, { details: { field } });
  }
  return Buffer.from(compact, 'base64');
}

/** Decodes and checks the clips of one field (AUDIO_* errors name the clip). */
export function clipsOf(upload: AudioUpload, field: string, limits: ClipLimits): AudioInput[] {
  const raw = upload.clips.get(field) ?? [];
  return raw.map((bytes, i) => readClip(bytes, limits, raw.length === 1 ? field : `${field}[${i}]`));
}

/**
 * Multipart fields arrive as text ("true", "0.5"); JSON sends the values themselves. A text is read as a
 * number or a boolean only where the schema wants one, so a speaker named "007" stays a name.
 */
export function parseAudioFields<S extends z.ZodObject>(schema: S, fields: Record<string, unknown>, multipart: boolean): z.output<S> {
  if (!multipart) return parseBody(schema, fields);
  const coerced = Object.fromEntries(Object.entries(fields).map(([key, value]) => [key, fromText(value, kindOf(schema.shape[key]))]));
  return parseBody(schema, coerced);
}

/** The type a field's schema wants, under its optional and default wrappers. */
function kindOf(field: z.ZodType | undefined): string | undefined {
  let type = field as { def: { type: string; innerType?: unknown } } | undefined;
  while (type?.def.innerType !== undefined) type = type.def.innerType as typeof type;
  return type?.def.type;
}

function fromText(value: unknown, kind: string | undefined): unknown {
  if (typeof value !== 'string') return value;
  if (kind === 'boolean') return value === 'true' ? true : value === 'false' ? false : value;
  if (kind === 'number' && value.trim() !== '' && !Number.isNaN(Number(value))) return Number(value);
  return value;
}
