import { HearthError } from '../../../errors/index.js';
import type { QueryInput } from '../../../memory/memory.js';

/** What memory is, in the sentence every `hearth memory … --help` ends with. */
export const ABOUT_MEMORY =
  'A collection keeps documents as chunks of text with their vectors, in the embedded database (HEARTH_MEMORY_DIR, by default under HEARTH_HOME) or in the Postgres at HEARTH_DATABASE_URL. It belongs to one embedding space, and hearth only embeds into it with a runtime that passes that space\'s check.';

/** A JSON object given on the command line (`--metadata`, `--filter`): anything else is a usage error, never a guess. */
export function parseJsonObject(text: string, option: string): Record<string, unknown> {
  const value = parseJson(text, option);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HearthError('USAGE', `${option} must be a JSON object, such as '{"kind": "note"}'`, { details: { option } });
  }
  return value as Record<string, unknown>;
}

/** `--vector`: a JSON array; its length and numbers are the collection's to judge (VECTOR_INVALID). */
export function parseVector(text: string): number[] {
  const value = parseJson(text, '--vector');
  if (!Array.isArray(value)) throw new HearthError('USAGE', `--vector must be a JSON array of numbers, such as '[0.1, -0.2, 0.3]'`, { details: { option: '--vector' } });
  return value as number[];
}

function parseJson(text: string, option: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new HearthError('USAGE', `${option} is not valid JSON: ${(error as Error).message}`, { cause: error, details: { option } });
  }
}

export function parsePositiveInt(text: string, option: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 1) throw new HearthError('USAGE', `${option} must be a whole number of 1 or more (got "${text}")`, { details: { option } });
  return n;
}

/** A cosine similarity: -1 (opposite) to 1 (the same direction). */
export function parseSimilarity(text: string, option: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < -1 || n > 1) throw new HearthError('USAGE', `${option} must be a number from -1 to 1 (got "${text}")`, { details: { option } });
  return n;
}

/** The query a TEXT argument or `--vector` describes: exactly one of them. */
export function queryOf(text: string | undefined, vector: string | undefined, signal: AbortSignal): QueryInput {
  if ((text === undefined) === (vector === undefined)) throw new HearthError('USAGE', 'give the query as TEXT or as --vector, not both and not neither');
  if (vector !== undefined) return { vector: parseVector(vector), signal };
  if (text!.trim() === '') throw new HearthError('USAGE', 'the query text is empty');
  return { text, signal };
}

/** A chunk's text on one table line: whitespace folded, cut at `width` characters. */
export function oneLineText(text: string, width = 80): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
}

/** Labels and values, aligned, for a record too small for a table. */
export function pairs(rows: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n') + '\n';
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
