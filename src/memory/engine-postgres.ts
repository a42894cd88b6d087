import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { HearthError } from '../errors/index.js';
import { copyTarget, type SqlEngine, type SqlSession } from './engine.js';
import { redactUrl } from '../config/redact-url.js';

export interface PostgresEngineOptions {
  /** postgres://user:password@host:port/database */
  url: string;
  /** Connections in the pool. */
  maxConnections?: number;
}


/** A Postgres server with pgvector, through node-postgres' pool. */
export async function openPostgresEngine(options: PostgresEngineOptions): Promise<SqlEngine> {
  const pool = new pg.Pool({ connectionString: options.url, max: options.maxConnections ?? 4 });
  // An idle client's error (the server restarted) must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
  try {
    await pool.query('CREATE EXTENSION IF NOT EXISTS vector');
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw new HearthError('DATABASE_UNAVAILABLE', `cannot use the Postgres database at ${redactUrl(options.url)}: ${(error as Error).message}`, {
      cause: error,
      hint: 'check HEARTH_DATABASE_URL, that the server runs, and that the pgvector extension is installed (CREATE EXTENSION vector)',
    });
  }
  const copy = async (client: pg.PoolClient, table: string, columns: readonly string[], data: Uint8Array) => {
    await pipeline(Readable.from([data]), client.query(copyFrom(`COPY ${copyTarget(table, columns)} FROM STDIN WITH (FORMAT binary)`)));
  };
  // node-postgres sends a Buffer parameter in binary.
  const session = (client: pg.Pool | pg.PoolClient): SqlSession => ({
    query: async <R extends object>(sql: string, params: readonly unknown[] = []) => (await client.query<R>(sql, [...params])).rows,
    exec: async (sql: string) => {
      await client.query(sql);
    },
    copyBinary: async (table, columns, data) => {
      if (client instanceof pg.Pool) {
        const own = await client.connect();
        try {
          await copy(own, table, columns, data);
        } finally {
          own.release();
        }
      } else await copy(client, table, columns, data);
    },
  });
  const main = session(pool);
  let closed: Promise<void> | undefined;
  return {
    kind: 'postgres',
    query: main.query,
    exec: main.exec,
    copyBinary: main.copyBinary,
    transaction: async (work) => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await work(session(client));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    session: async (work) => {
      const client = await pool.connect();
      try {
        return await work(session(client));
      } finally {
        client.release();
      }
    },
    close: () => (closed ??= pool.end()),
  };
}
