import type { z } from 'zod';
import { HearthError } from './hearth-error.js';

/**
 * Validates input (a request body, a CLI option's value) with zod; the first
 * problem becomes a USAGE error naming the field, after `prefix` when given.
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, prefix?: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const path = issue.path.join('.');
  const field = prefix ? [prefix, path].filter(Boolean).join(' ') : path || 'body';
  throw new HearthError('USAGE', `invalid request: ${field}: ${issue.message}`, { cause: parsed.error, details: { field } });
}
