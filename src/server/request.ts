import { z } from 'zod';
import { HearthError } from '../errors/index.js';

/** Validates a request body with zod; the first problem becomes a 400 with the field named. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const parsed = schema.safeParse(body ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.join('.') || 'body';
  throw new HearthError('USAGE', `invalid request: ${field}: ${issue.message}`, { cause: parsed.error, details: { field } });
}

export const stopSchema = z.union([z.string(), z.array(z.string())]).optional().transform((s) => (s === undefined ? undefined : Array.isArray(s) ? s : [s]));

/** OpenAI message content: a string, or an array of parts of which the text parts are kept. */
export const contentSchema = z
  .union([z.string(), z.array(z.object({ type: z.string(), text: z.string().optional() }).loose()), z.null()])
  .transform((c) => (c === null ? '' : typeof c === 'string' ? c : c.filter((p) => p.type === 'text').map((p) => p.text ?? '').join('')));

export const keepAliveSchema = z.union([z.string(), z.number()]).nullable().optional();
