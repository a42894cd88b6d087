import { HearthError } from '../errors/index.js';

/**
 * The seam between vector memory and a database engine. Two engines speak
 * the same SQL (Postgres with pgvector): PGlite embedded in the process, the
 * default, and a real Postgres server for scale. Memory writes its SQL once;
 * an engine only runs it. One conformance suite runs against both.
 */
export interface SqlEngine {
  readonly kind: 'pglite' | 'postgres';
  /**
   * Runs one parameterized statement ($1, $2, …); values are never spliced
   * into SQL text. A Uint8Array travels in binary: for `$n::vector`, pass
   * pgvector's binary form (encodeVector), which the server need not parse.
   */
  query<R extends object = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  /** Runs several statements without parameters (schema changes). */
  exec(sql: string): Promise<void>;
  /** Loads rows encoded by encodeCopyRows into `table`'s `columns` with one binary COPY. */
  copyBinary(table: string, columns: readonly string[], data: Uint8Array): Promise<void>;
  /** Runs `work` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (tx: SqlSession) => Promise<T>): Promise<T>;
  /**
   * Runs `work` on one connection outside any transaction, for what needs
   * both (session settings around CREATE INDEX CONCURRENTLY). PGlite has a
   * single connection: its session is shared, so work must reset what it sets.
   */
  session<T>(work: (s: SqlSession) => Promise<T>): Promise<T>;
  /** Idempotent. */
  close(): Promise<void>;
}

/** What a transaction's work may do: the same statements, inside the transaction. */
export type SqlSession = Pick<SqlEngine, 'query' | 'exec' | 'copyBinary'>;

/** COPY's target, from identifiers hearth made (never a client's words): a table and its columns. */
export function copyTarget(table: string, columns: readonly string[]): string {
  for (const id of [table, ...columns]) if (!/^[a-z_][a-z0-9_]*$/.test(id)) throw new HearthError('INTERNAL', `not an identifier: ${id}`);
  return `${table} (${columns.join(', ')})`;
}
