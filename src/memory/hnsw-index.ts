import { setTimeout as sleep } from 'node:timers/promises';
import { chunkTable, type Collection } from './collection-store.js';
import type { SqlEngine, SqlSession } from './engine.js';
import { efSearchSql, sqlInt } from './sql-settings.js';

export interface HnswParams {
  /** Links per node (pgvector's default 16). */
  m: number;
  /** Candidates kept while building (pgvector's default 64). */
  efConstruction: number;
  /** maintenance_work_mem for the build, in MiB: a graph that fits builds several times faster. */
  buildMemoryMiB: number;
}

export function indexName(collection: Pick<Collection, 'id'>): string {
  return `${chunkTable(collection)}_hnsw`;
}

/**
 * Builds a collection's HNSW index (cosine) on `session`. On Postgres it is
 * built CONCURRENTLY, so writes and queries go on during the build; a build
 * that died leaves an invalid index, which is dropped first. PGlite has one
 * connection, so there the build holds it.
 */
export async function buildHnsw(session: SqlSession, kind: SqlEngine['kind'], collection: Collection, params: HnswParams): Promise<void> {
  const m = sqlInt(params.m, 'm', 2, 100);
  const ef = sqlInt(params.efConstruction, 'ef_construction', 4, 1000);
  const mem = sqlInt(params.buildMemoryMiB, 'the build memory', 1, 1024 * 1024);
  const concurrently = kind === 'postgres' ? 'CONCURRENTLY' : '';
  await session.exec(`SET maintenance_work_mem = '${mem}MB'`);
  try {
    await session.exec(`DROP INDEX ${concurrently} IF EXISTS ${indexName(collection)}`);
    await session.exec(`CREATE INDEX ${concurrently} ${indexName(collection)} ON ${chunkTable(collection)} USING hnsw (embedding vector_cosine_ops) WITH (m = ${m}, ef_construction = ${ef})`);
  } finally {
    await session.exec('RESET maintenance_work_mem');
  }
}

/** How often a held index lock is tried again. */
const LOCK_POLL_MS = 1000;

/**
 * Runs `work` holding the collection's index lock: an advisory lock on one
 * session, so two hearths sharing a Postgres never build one index twice.
 * While another session holds it (another hearth building, or the backend
 * of a killed one, which runs its CREATE INDEX to the end), this waits, and
 * `work` then finds the state that build left. It polls with a try-lock
 * between idle pauses: a blocking pg_advisory_lock would hold a snapshot
 * that CREATE INDEX CONCURRENTLY waits for, a deadlock.
 */
export async function withIndexLock<T>(engine: SqlEngine, collection: Collection, work: (session: SqlSession) => Promise<T>, signal?: AbortSignal): Promise<T> {
  return engine.session(async (s) => {
    for (;;) {
      const [row] = await s.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(7243002, $1) AS locked', [collection.id]);
      if (row?.locked) break;
      await sleep(LOCK_POLL_MS, undefined, { signal });
    }
    try {
      return await work(s);
    } finally {
      await s.query('SELECT pg_advisory_unlock(7243002, $1)', [collection.id]);
    }
  });
}

/** Whether the collection has a usable HNSW index: true (valid), false (left invalid by a build that died), undefined (none). */
export async function hnswIndexValid(session: SqlSession, collection: Collection): Promise<boolean | undefined> {
  const [row] = await session.query<{ valid: boolean }>(`SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = to_regclass($1)`, [indexName(collection)]);
  return row?.valid;
}

export async function dropHnsw(engine: SqlEngine, collection: Collection): Promise<void> {
  await engine.exec(`DROP INDEX IF EXISTS ${indexName(collection)}`);
}

/**
 * recall@k of the index against exact search, on `samples` of the
 * collection's own chunk vectors as queries (chosen by a hash, so the same
 * each time): the share of the exact top k that the index returns.
 */
export async function measureRecall(engine: SqlEngine, collection: Collection, options: { samples: number; k: number; efSearch: number }): Promise<number | null> {
  const table = chunkTable(collection);
  const queries = await engine.query<{ doc_id: string; chunk: number }>(`SELECT doc_id, chunk FROM ${table} ORDER BY md5(doc_id || ':' || chunk) LIMIT $1`, [options.samples]);
  if (queries.length === 0) return null;
  let found = 0;
  let wanted = 0;
  for (const query of queries) {
    const indexed = await topK(engine, table, query, options.k, { efSearch: options.efSearch });
    const exact = await topK(engine, table, query, options.k, { exact: true });
    const got = new Set(indexed);
    for (const key of exact) if (got.has(key)) found++;
    wanted += exact.length;
  }
  return wanted === 0 ? null : found / wanted;
}

/** The k nearest chunks to a stored chunk's vector, which the server reads itself (nothing crosses the wire). */
async function topK(engine: SqlEngine, table: string, query: { doc_id: string; chunk: number }, k: number, how: { efSearch?: number; exact?: boolean }): Promise<string[]> {
  return engine.transaction(async (tx) => {
    if (how.exact) await tx.exec('SET LOCAL enable_indexscan = off');
    if (how.efSearch !== undefined) await tx.exec(efSearchSql(how.efSearch));
    const rows = await tx.query<{ key: string }>(
      `SELECT doc_id || ':' || chunk AS key FROM ${table} ORDER BY embedding <=> (SELECT embedding FROM ${table} WHERE doc_id = $1 AND chunk = $2) LIMIT $3`,
      [query.doc_id, query.chunk, k],
    );
    return rows.map((r) => r.key);
  });
}
