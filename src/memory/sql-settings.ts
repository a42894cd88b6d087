import { HearthError } from '../errors/index.js';

/** An integer spliced into SQL that takes no parameters (DDL, SET), checked to be exactly that. */
export function sqlInt(value: number, what: string, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new HearthError('USAGE', `${what} must be an integer from ${min} to ${max}, not ${value}`);
  return value;
}

/** Sets `hnsw.ef_search` for one query's transaction (SET takes no parameters). */
export function efSearchSql(efSearch: number): string {
  return `SET LOCAL hnsw.ef_search = ${sqlInt(efSearch, 'ef_search', 1, 1000)}`;
}
