import assert from 'node:assert/strict';
import type { Config } from '../../src/config/index.js';
import { silentLogger } from '../../src/log/logger.js';
import type { SqlEngine } from '../../src/memory/engine.js';
import { openMemoryEngine } from '../../src/memory/open-engine.js';

/**
 * A collection as its tables hold it, read with SQL from outside hearth's
 * API: what a crash may have left, and what the invariants below judge.
 */
export interface StoredCollection {
  id: number;
  indexState: string;
  recall: number | null;
  /** Each document row, by doc_id, with what its chunks look like. */
  documents: Map<string, { contentHash: string; chunks: number; first: number | null; last: number | null }>;
  /** Chunks whose document row is missing (the foreign key forbids them: counted, not assumed). */
  strayChunks: number;
  /** NULL, NaN or zero vectors (the table's checks forbid them: counted, not assumed). */
  invalidVectors: number;
}

/** Opens the memory database a configuration names (PGlite: only while no hearth process holds it), runs `work`, closes it. */
export async function withMemoryDatabase<T>(config: Readonly<Config>, work: (engine: SqlEngine) => Promise<T>): Promise<T> {
  const engine = await openMemoryEngine(config, silentLogger);
  try {
    return await work(engine);
  } finally {
    await engine.close();
  }
}

export async function readCollection(engine: SqlEngine, name: string): Promise<StoredCollection> {
  const [row] = await engine.query<{ id: number; index_state: string; recall: number | null }>(`SELECT id, index_state, recall FROM hearth_collections WHERE name = $1 AND live`, [name]);
  assert.ok(row, `collection ${name} exists`);
  const table = `hearth_chunks_${row.id}`;
  const docs = await engine.query<{ doc_id: string; content_hash: string; n: string | number; first: number | null; last: number | null }>(
    `SELECT d.doc_id, d.content_hash, count(c.chunk) AS n, min(c.chunk) AS first, max(c.chunk) AS last
     FROM hearth_documents d LEFT JOIN ${table} c ON c.doc_id = d.doc_id
     WHERE d.collection_id = $1 GROUP BY d.doc_id, d.content_hash`,
    [row.id],
  );
  const [counts] = await engine.query<{ stray: string | number; invalid: string | number }>(
    `SELECT (SELECT count(*) FROM ${table} c WHERE NOT EXISTS (SELECT 1 FROM hearth_documents d WHERE d.collection_id = $1 AND d.doc_id = c.doc_id)) AS stray,
            (SELECT count(*) FROM ${table} WHERE embedding IS NULL OR NOT (vector_norm(embedding) > 0)) AS invalid`,
    [row.id],
  );
  return {
    id: row.id,
    indexState: row.index_state,
    recall: row.recall,
    documents: new Map(docs.map((d) => [d.doc_id, { contentHash: d.content_hash, chunks: Number(d.n), first: d.first, last: d.last }])),
    strayChunks: Number(counts!.stray),
    invalidVectors: Number(counts!.invalid),
  };
}

/**
 * What a crash must never leave: a document row without its chunks, a
 * document with some of its chunks (they are numbered 0..n-1 with no gap, and
 * as many as a clean run made for the same text), a chunk without its
 * document, or a bad vector.
 */
export function assertConsistent(stored: StoredCollection, reference: StoredCollection, what: string): void {
  assert.equal(stored.strayChunks, 0, `${what}: chunks without a document`);
  assert.equal(stored.invalidVectors, 0, `${what}: invalid vectors`);
  for (const [docId, doc] of stored.documents) {
    assert.ok(doc.chunks > 0, `${what}: document ${docId} has a row and no chunks`);
    assert.equal(doc.first, 0, `${what}: document ${docId}'s chunks start at ${doc.first}`);
    assert.equal(doc.last, doc.chunks - 1, `${what}: document ${docId} has ${doc.chunks} chunks numbered up to ${doc.last}`);
    const clean = reference.documents.get(docId);
    if (clean?.contentHash === doc.contentHash) assert.equal(doc.chunks, clean.chunks, `${what}: document ${docId} has ${doc.chunks} chunks, a clean run ${clean.chunks}`);
  }
}

/**
 * Two collections hold the same documents (ids, content, metadata) and the
 * same chunks (text, tokens) with the same vectors, up to float rounding
 * (a run that resumed batches its texts differently from one that did not).
 */
export async function assertSameContent(engine: SqlEngine, name: string, reference: string): Promise<void> {
  const [a, b] = await Promise.all([readCollection(engine, name), readCollection(engine, reference)]);
  const [ta, tb] = [`hearth_chunks_${a.id}`, `hearth_chunks_${b.id}`];
  const differing = async (sql: string, params: unknown[]) => Number((await engine.query<{ n: string | number }>(sql, params))[0]!.n);
  const docs = `SELECT doc_id, content_hash, metadata FROM hearth_documents WHERE collection_id = $1`;
  assert.equal(await differing(`SELECT count(*) AS n FROM (${docs} EXCEPT ${docs.replace('$1', '$2')}) x`, [a.id, b.id]), 0, `${name} has documents ${reference} has not`);
  assert.equal(await differing(`SELECT count(*) AS n FROM (${docs} EXCEPT ${docs.replace('$1', '$2')}) x`, [b.id, a.id]), 0, `${reference} has documents ${name} has not`);
  const chunks = (t: string) => `SELECT doc_id, chunk, text, tokens FROM ${t}`;
  assert.equal(await differing(`SELECT count(*) AS n FROM (${chunks(ta)} EXCEPT ${chunks(tb)}) x`, []), 0, `${name} has chunks ${reference} has not`);
  assert.equal(await differing(`SELECT count(*) AS n FROM (${chunks(tb)} EXCEPT ${chunks(ta)}) x`, []), 0, `${reference} has chunks ${name} has not`);
  const [far] = await engine.query<{ d: number | null }>(`SELECT max(a.embedding <=> b.embedding) AS d FROM ${ta} a JOIN ${tb} b USING (doc_id, chunk)`);
  assert.ok(far!.d !== null && far!.d < 1e-5, `the vectors differ: cosine distance up to ${far!.d}`);
}

/** The HNSW index of a collection's chunk table as the catalog has it: none, or one row per index of that name. */
export async function hnswIndexes(engine: SqlEngine, collectionId: number): Promise<Array<{ valid: boolean; ready: boolean }>> {
  return engine.query<{ valid: boolean; ready: boolean }>(
    `SELECT i.indisvalid AS valid, i.indisready AS ready FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = $1`,
    [`hearth_chunks_${collectionId}_hnsw`],
  );
}

/** Every index of a collection's chunk table that is not valid: what a build cut short on Postgres leaves. */
export async function invalidIndexes(engine: SqlEngine, collectionId: number): Promise<string[]> {
  const rows = await engine.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = $1::regclass AND NOT i.indisvalid`,
    [`hearth_chunks_${collectionId}`],
  );
  return rows.map((r) => r.name);
}
