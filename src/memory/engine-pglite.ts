import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { HearthError } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import { lockDataDir } from './data-dir-lock.js';
import { copyTarget, type SqlEngine, type SqlSession } from './engine.js';

export interface PgliteEngineOptions {
  /** The database folder; one process at a time (an exclusive lock is taken). */
  dataDir: string;
  /**
   * PGlite runs Postgres with fsync=off: a committed write survives the
   * process crashing, but an OS crash or power loss can lose the last
   * commits. `durable` turns fsync on, at the cost of slower commits.
   */
  durable: boolean;
  logger: Logger;
}

/**
 * PGlite (Postgres compiled to WebAssembly) in this process, with pgvector.
 * PGlite does not lock its data folder: two processes opening one folder
 * both write and silently lose rows (issue 14 measured 5 of 10), so the
 * folder is locked here first and a second process gets MEMORY_LOCKED.
 */
export async function openPgliteEngine(options: PgliteEngineOptions): Promise<SqlEngine> {
  await mkdir(options.dataDir, { recursive: true }).catch((error: unknown) => {
    throw new HearthError('IO_ERROR', `cannot create the memory folder ${options.dataDir}: ${(error as Error).message}`, { cause: error });
  });
  const unlock = await lockDataDir(options.dataDir, options.logger);
  let db: PGlite;
  let vectorOid: number;
  try {
    db = await PGlite.create({
      dataDir: options.dataDir,
      extensions: { vector },
      // PGlite starts Postgres with -F (fsync off); without it, commits are flushed to disk.
      ...(options.durable ? { startParams: PGlite.defaultStartParams.filter((p) => p !== '-F') } : {}),
    });
    await db.exec('CREATE EXTENSION IF NOT EXISTS vector');
    vectorOid = (await db.query<{ oid: number }>(`SELECT 'vector'::regtype::oid AS oid`)).rows[0]!.oid;
  } catch (error) {
    await unlock();
    throw new HearthError('DATABASE_UNAVAILABLE', `cannot open the embedded database in ${options.dataDir}: ${(error as Error).message}`, { cause: error });
  }
  let closed: Promise<void> | undefined;
  // PGlite sends a parameter in binary when its serializer returns bytes; a vector's bytes pass through as they are.
  const queryOptions = { serializers: { [vectorOid]: (v: unknown) => (v instanceof Uint8Array ? v : String(v)) as string } };
  const session = (run: Pick<PGlite, 'query' | 'exec'>): SqlSession => ({
    query: async <R extends object>(sql: string, params: readonly unknown[] = []) => (await run.query<R>(sql, [...params], queryOptions)).rows,
    exec: async (sql: string) => {
      await run.exec(sql);
    },
    // PGlite reads COPY … FROM '/dev/blob' from the query's blob: the bytes never become text.
    copyBinary: async (table, columns, data) => {
      await run.query(`COPY ${copyTarget(table, columns)} FROM '/dev/blob' WITH (FORMAT binary)`, [], { blob: new Blob([data]) });
    },
  });
  const main = session(db);
  return {
    kind: 'pglite',
    query: main.query,
    exec: main.exec,
    copyBinary: main.copyBinary,
    transaction: (work) => db.transaction((tx) => work(session(tx))),
    // One connection: a session is that connection, and statements of others may run between work's own.
    session: (work) => work(main),
    close: () =>
      (closed ??= (async () => {
        try {
          await db.close();
        } finally {
          await unlock();
        }
      })()),
  };
}
