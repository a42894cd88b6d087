import { z } from 'zod';
import { HearthError, parseInput } from '../errors/index.js';

/** Validates a request body with zod (no body reads as `{}`); the first problem becomes a 400 with the field named. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown, prefix?: string): z.output<S> {
  return parseInput(schema, body ?? {}, prefix);
}

export const stopSchema = z.union([z.string(), z.array(z.string())]).optional().transform((s) => (s === undefined ? undefined : Array.isArray(s) ? s : [s]));

/** OpenAI message content: a string, or an array of parts of which the text parts are kept. */
export const contentSchema = z
  .union([z.string(), z.array(z.object({ type: z.string(), text: z.string().optional() }).loose()), z.null()])
  .transform((c) => (c === null ? '' : typeof c === 'string' ? c : c.filter((p) => p.type === 'text').map((p) => p.text ?? '').join('')));

export const keepAliveSchema = z.union([z.string(), z.number()]).nullable().optional();

/**
 * Request features hearth does not implement yet are refused with a 400
 * naming them, rather than silently ignored (a client asking for JSON mode
 * must not get free text back as if it had worked).
 */
export function refuseUnsupported(body: unknown, fields: Record<string, (value: unknown) => boolean>): void {
  if (typeof body !== 'object' || body === null) return;
  for (const [field, isUsed] of Object.entries(fields)) {
    const value = (body as Record<string, unknown>)[field];
    if (value !== undefined && value !== null && isUsed(value)) {
      throw new HearthError('USAGE', `${field} is not supported by hearth yet`, { details: { field } });
    }
  }
}

export const nonEmpty = (v: unknown) => (Array.isArray(v) ? v.length > 0 : typeof v === 'object' && v !== null ? Object.keys(v).length > 0 : v !== '' && v !== false);

/** OpenAI fields that would change the answer and that hearth does not implement yet. */
export const openAiUnsupported = {
  functions: nonEmpty,
  function_call: (v: unknown) => v !== 'none',
  audio: nonEmpty,
  modalities: (v: unknown) => Array.isArray(v) && v.some((m) => m !== 'text'),
  reasoning_effort: nonEmpty,
  web_search_options: (v: unknown) => v !== undefined,
  best_of: (v: unknown) => typeof v === 'number' && v > 1,
};

/** Ollama fields that would change the answer and that hearth does not implement yet. */
export const ollamaUnsupported = {
  images: nonEmpty,
  template: nonEmpty,
  context: nonEmpty,
  think: (v: unknown) => v !== false,
};
