import { HearthError } from '../errors/index.js';
import type { SqlEngine, SqlSession } from './engine.js';
import { encodeCopyRows, encodeVector, type CopyField } from './pg-binary.js';
import { efSearchSql } from './sql-settings.js';

/** A collection as stored. */
export interface Collection {
  id: number;
  name: string;
  space: string;
  dimensions: number;
  indexState: 'exact' | 'building' | 'hnsw' | 'failed';
  indexParams: Record<string, unknown>;
  recall: number | null;
  live: boolean;
  createdAt: string;
}

/** One document's new content: its chunks replace whatever it had. */
export interface DocumentWrite {
  docId: string;
  contentHash: string;
  metadata: Record<string, unknown>;
  chunks: Array<{ text: string; tokens: number; vector: ArrayLike<number> }>;
}

export interface SearchOptions {
  topK: number;
  /** Cosine similarity a hit must reach (1 − cosine distance). */
  minSimilarity?: number | undefined;
  /** jsonb containment on the document's metadata: `metadata @> filter`. */
  filter?: Record<string, unknown> | undefined;
  /** HNSW's candidate list for this query (pgvector's hnsw.ef_search); only meaningful once the collection is indexed. */
  efSearch?: number | undefined;
}

export interface Hit {
  docId: string;
  chunk: number;
  text: string;
  similarity: number;
  metadata: Record<string, unknown>;
}

export interface DocumentSummary {
  docId: string;
  metadata: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

export interface CollectionCounts {
  documents: number;
  chunks: number;
  /** Stored vectors that are NULL, NaN or zero: always 0, since the table's checks refuse them. Counted, not assumed. */
  invalidVectors: number;
}

const COLLECTION_COLUMNS = `id, name, space, dimensions, index_state AS "indexState", index_params AS "indexParams", recall, live, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "createdAt"`;

/** Chunk table of a collection: named by its integer id, never by anything a client wrote. */
export function chunkTable(collection: Pick<Collection, 'id'>): string {
  if (!Number.isSafeInteger(collection.id) || collection.id <= 0) throw new HearthError('INTERNAL', `bad collection id ${collection.id}`);
  return `hearth_chunks_${collection.id}`;
}

/**
 * Collections, documents and chunks in SQL that both engines run. Every
 * value travels as a parameter. Each collection's chunks live in a table of
 * their own with a `vector(d)` column (an HNSW index needs one dimension),
 * and that table refuses what no index should ever hold: a NULL vector (NOT
 * NULL), a NaN or infinite one (pgvector itself), and a zero one (a norm
 * check), even from a hand-written INSERT.
 */
export class CollectionStore {
  constructor(private readonly engine: SqlEngine) {}

  async create(name: string, space: string, dimensions: number, options: { live?: boolean } = {}): Promise<Collection> {
    return this.engine.transaction((tx) => createCollection(tx, name, space, dimensions, options.live !== false));
  }

  async get(name: string): Promise<Collection> {
    const [row] = await this.engine.query<Collection>(`SELECT ${COLLECTION_COLUMNS} FROM hearth_collections WHERE name = $1 AND live`, [name]);
    if (!row) throw collectionNotFound(name);
    return row;
  }

  async byId(id: number): Promise<Collection | undefined> {
    const [row] = await this.engine.query<Collection>(`SELECT ${COLLECTION_COLUMNS} FROM hearth_collections WHERE id = $1`, [id]);
    return row;
  }

  list(): Promise<Collection[]> {
    return this.engine.query<Collection>(`SELECT ${COLLECTION_COLUMNS} FROM hearth_collections WHERE live ORDER BY name`);
  }

  /** Records a collection's index state (and, once measured, its recall). */
  async setIndexState(collection: Collection, state: Collection['indexState'], extra: { params?: Record<string, unknown>; recall?: number | null } = {}): Promise<Collection> {
    const [row] = await this.engine.query<Collection>(
      `UPDATE hearth_collections SET index_state = $2, index_params = COALESCE($3::jsonb, index_params), recall = $4 WHERE id = $1 RETURNING ${COLLECTION_COLUMNS}`,
      [collection.id, state, extra.params === undefined ? null : JSON.stringify(extra.params), extra.recall ?? null],
    );
    if (!row) throw collectionNotFound(collection.name);
    return row;
  }

  /** Drops a collection: its chunk table, documents and row, in one transaction. */
  async drop(collection: Collection): Promise<void> {
    await this.engine.transaction(async (tx) => {
      await tx.exec(`DROP TABLE IF EXISTS ${chunkTable(collection)}`);
      await tx.query(`DELETE FROM hearth_collections WHERE id = $1`, [collection.id]);
    });
  }

  /** The stored content hash of each of `docIds` that exists. */
  async contentHashes(collection: Collection, docIds: readonly string[]): Promise<Map<string, string>> {
    if (docIds.length === 0) return new Map();
    const rows = await this.engine.query<{ doc_id: string; content_hash: string }>(
      `SELECT doc_id, content_hash FROM hearth_documents WHERE collection_id = $1 AND doc_id = ANY($2::text[])`,
      [collection.id, [...docIds]],
    );
    return new Map(rows.map((r) => [r.doc_id, r.content_hash]));
  }

  /**
   * Writes documents and their chunks in one transaction: all of them, or
   * (on any error) none. Chunks go in one binary COPY, so no vector is ever
   * sent, or parsed, as text.
   */
  async write(collection: Collection, documents: readonly DocumentWrite[]): Promise<void> {
    if (documents.length === 0) return;
    await this.engine.transaction((tx) => writeDocuments(tx, collection, documents));
  }

  /** Deletes documents (their chunks go with them); returns how many existed. */
  deleteDocuments(collection: Collection, docIds: readonly string[]): Promise<number> {
    return deleteDocuments(this.engine, collection, docIds);
  }

  /** Nearest chunks by cosine distance, best first. */
  async search(collection: Collection, vector: ArrayLike<number>, options: SearchOptions): Promise<Hit[]> {
    assertVector(vector, collection.dimensions);
    const table = chunkTable(collection);
    const run = (session: SqlSession) => session.query<{ doc_id: string; chunk: number; text: string; distance: number; metadata: Record<string, unknown> }>(
      // Ordered by distance alone inside, so the planner can walk the HNSW index (Postgres 15 otherwise
      // scans and sorts: 113 ms against 5.6 ms at 100k rows); ties are broken on the k rows outside.
      `SELECT * FROM (
         SELECT c.doc_id, c.chunk, c.text, c.embedding <=> $1::vector AS distance, d.metadata
         FROM ${table} c JOIN hearth_documents d ON d.collection_id = $2 AND d.doc_id = c.doc_id
         WHERE ($3::jsonb IS NULL OR d.metadata @> $3::jsonb)
           AND ($4::float8 IS NULL OR c.embedding <=> $1::vector <= 1 - $4::float8)
         ORDER BY c.embedding <=> $1::vector
         LIMIT $5
       ) AS hits ORDER BY distance, doc_id, chunk`,
      [encodeVector(vector), collection.id, options.filter === undefined ? null : JSON.stringify(options.filter), options.minSimilarity ?? null, options.topK],
    );
    const efSearch = options.efSearch;
    const rows =
      efSearch === undefined
        ? await run(this.engine)
        : await this.engine.transaction(async (tx) => {
            await tx.exec(efSearchSql(efSearch));
            return run(tx);
          });
    return rows.map((r) => ({ docId: r.doc_id, chunk: r.chunk, text: r.text, similarity: 1 - Number(r.distance), metadata: r.metadata }));
  }

  /** Similarity of `vector` to every chunk of the collection (an exact scan, for diagnosis). */
  async distribution(collection: Collection, vector: ArrayLike<number>): Promise<SimilarityDistribution> {
    assertVector(vector, collection.dimensions);
    const [row] = await this.engine.query<Record<string, string | number | null>>(
      `SELECT count(*) AS n, min(s) AS min, max(s) AS max, avg(s) AS mean,
              count(*) FILTER (WHERE s >= 0.3) AS a3, count(*) FILTER (WHERE s >= 0.5) AS a5,
              count(*) FILTER (WHERE s >= 0.7) AS a7, count(*) FILTER (WHERE s >= 0.9) AS a9
       FROM (SELECT 1 - (embedding <=> $1::vector) AS s FROM ${chunkTable(collection)}) AS similarities`,
      [encodeVector(vector)],
    );
    const num = (v: string | number | null | undefined) => (v === null || v === undefined ? null : Number(v));
    return {
      chunks: Number(row!.n),
      min: num(row!.min),
      max: num(row!.max),
      mean: num(row!.mean),
      atLeast: { '0.3': Number(row!.a3), '0.5': Number(row!.a5), '0.7': Number(row!.a7), '0.9': Number(row!.a9) },
    };
  }

  /** Documents in id order, without their chunks: ids, metadata and when they were written. */
  async documents(collection: Collection, options: { limit: number; after?: string | undefined }): Promise<DocumentSummary[]> {
    const rows = await this.engine.query<{ doc_id: string; metadata: Record<string, unknown>; created_at: Date | string; updated_at: Date | string }>(
      `SELECT doc_id, metadata, created_at, updated_at FROM hearth_documents
       WHERE collection_id = $1 AND ($2::text IS NULL OR doc_id > $2) ORDER BY doc_id LIMIT $3`,
      [collection.id, options.after ?? null, options.limit],
    );
    return rows.map((r) => ({ docId: r.doc_id, metadata: r.metadata, createdAt: new Date(r.created_at).toISOString(), updatedAt: new Date(r.updated_at).toISOString() }));
  }

  /** Whether the collection has at least `n` chunks: reads at most n rows, where a count would read them all (once per add). */
  async hasChunks(collection: Collection, n: number): Promise<boolean> {
    const [row] = await this.engine.query<{ n: string }>(`SELECT count(*) AS n FROM (SELECT 1 FROM ${chunkTable(collection)} LIMIT $1) AS first`, [n]);
    return Number(row!.n) >= n;
  }

  async counts(collection: Collection): Promise<CollectionCounts> {
    const table = chunkTable(collection);
    const [row] = await this.engine.query<{ documents: string; chunks: string; invalid: string }>(
      `SELECT (SELECT count(*) FROM hearth_documents WHERE collection_id = $1) AS documents,
              (SELECT count(*) FROM ${table}) AS chunks,
              (SELECT count(*) FROM ${table} WHERE embedding IS NULL OR NOT (vector_norm(embedding) > 0)) AS invalid`,
      [collection.id],
    );
    return { documents: Number(row!.documents), chunks: Number(row!.chunks), invalidVectors: Number(row!.invalid) };
  }
}

/** The similarity of one query to every chunk: what a broken space or a bad threshold looks like, in numbers. */
export interface SimilarityDistribution {
  chunks: number;
  min: number | null;
  max: number | null;
  mean: number | null;
  /** Chunks at or above each similarity. */
  atLeast: { '0.3': number; '0.5': number; '0.7': number; '0.9': number };
}

/**
 * A collection's row and its chunk table, inside the caller's transaction.
 * A live name is unique; a collection being filled for a re-embed shares
 * its name with the live one until the swap.
 */
export async function createCollection(tx: SqlSession, name: string, space: string, dimensions: number, live: boolean): Promise<Collection> {
  if (live && (await tx.query(`SELECT 1 FROM hearth_collections WHERE name = $1 AND live`, [name])).length > 0) throw collectionExists(name);
  const [row] = await tx.query<Collection>(
    `INSERT INTO hearth_collections (name, space, dimensions, live) VALUES ($1, $2, $3, $4) RETURNING ${COLLECTION_COLUMNS}`,
    [name, space, dimensions, live],
  );
  const collection = row!;
  // No foreign key to the documents: checking one cost 2.3 s of PGlite's 9.75 s per 100k bulk rows. Chunks are
  // written and deleted only with their document, in one transaction (writeDocuments, deleteDocuments), and
  // search joins the documents, so a chunk without one (only a hand-written INSERT makes it) is never a hit.
  await tx.exec(`
    CREATE TABLE ${chunkTable(collection)} (
      doc_id text NOT NULL,
      chunk integer NOT NULL CHECK (chunk >= 0),
      text text NOT NULL,
      tokens integer NOT NULL CHECK (tokens >= 0),
      embedding vector(${dimensions}) NOT NULL CHECK (vector_norm(embedding) > 0),
      PRIMARY KEY (doc_id, chunk)
    )`);
  return collection;
}

/** Deletes documents and their chunks in `session`, in one statement; returns how many documents existed. */
export async function deleteDocuments(session: SqlSession, collection: Collection, docIds: readonly string[]): Promise<number> {
  // A DELETE in WITH runs to completion whether or not the outer query reads it.
  const [row] = await session.query<{ n: number }>(
    `WITH chunks AS (DELETE FROM ${chunkTable(collection)} WHERE doc_id = ANY($2::text[])),
          documents AS (DELETE FROM hearth_documents WHERE collection_id = $1 AND doc_id = ANY($2::text[]) RETURNING 1)
     SELECT count(*)::int AS n FROM documents`,
    [collection.id, [...docIds]],
  );
  return row!.n;
}

/** Replaces the metadata of documents whose content is unchanged (nothing to embed), in `session`. */
export async function updateMetadata(session: SqlSession, collection: Collection, documents: ReadonlyArray<{ docId: string; metadata: Record<string, unknown> }>): Promise<void> {
  if (documents.length === 0) return;
  const rows = documents.map((d) => ({ doc_id: d.docId, metadata: d.metadata }));
  await session.query(
    `UPDATE hearth_documents d SET metadata = r.metadata, updated_at = now()
     FROM jsonb_to_recordset($2::jsonb) AS r(doc_id text, metadata jsonb)
     WHERE d.collection_id = $1 AND d.doc_id = r.doc_id AND d.metadata <> r.metadata`,
    [collection.id, JSON.stringify(rows)],
  );
}

/** The chunk table's columns, in the order the bulk path writes them. */
const CHUNK_COLUMNS = ['doc_id', 'chunk', 'text', 'tokens', 'embedding'] as const;

/**
 * Documents and their chunks, inside the caller's transaction: new
 * documents and every chunk in binary COPYs, documents that exist updated
 * and their old chunks deleted first. The bulk path is nearly all new
 * documents, so it costs two COPYs and one lookup per batch.
 */
export async function writeDocuments(tx: SqlSession, collection: Collection, documents: readonly DocumentWrite[]): Promise<void> {
  for (const doc of documents) for (const chunk of doc.chunks) assertVector(chunk.vector, collection.dimensions);
  const table = chunkTable(collection);
  // Locked, so that a concurrent delete of one of them waits for this write instead of racing it.
  const existing = new Set(
    (await tx.query<{ doc_id: string }>(`SELECT doc_id FROM hearth_documents WHERE collection_id = $1 AND doc_id = ANY($2::text[]) FOR UPDATE`, [collection.id, documents.map((d) => d.docId)])).map((r) => r.doc_id),
  );
  const fresh = documents.filter((d) => !existing.has(d.docId));
  if (fresh.length > 0 && !(await copyNewDocuments(tx, collection, fresh))) {
    // Another transaction inserted one of them since the lookup (Postgres): they are all written as updates.
    for (const d of fresh) existing.add(d.docId);
  }
  const updated = documents.filter((d) => existing.has(d.docId));
  if (updated.length > 0) {
    const rows = updated.map((d) => ({ doc_id: d.docId, content_hash: d.contentHash, metadata: d.metadata }));
    await tx.query(
      `INSERT INTO hearth_documents (collection_id, doc_id, content_hash, metadata)
       SELECT $1, r.doc_id, r.content_hash, r.metadata FROM jsonb_to_recordset($2::jsonb) AS r(doc_id text, content_hash text, metadata jsonb)
       ON CONFLICT (collection_id, doc_id) DO UPDATE SET content_hash = EXCLUDED.content_hash, metadata = EXCLUDED.metadata, updated_at = now()`,
      [collection.id, JSON.stringify(rows)],
    );
    await tx.query(`DELETE FROM ${table} WHERE doc_id = ANY($1::text[])`, [updated.map((d) => d.docId)]);
  }
  const chunks = documents.flatMap((doc) => doc.chunks.map((c, i): CopyField[] => [{ text: doc.docId }, { int4: i }, { text: c.text }, { int4: c.tokens }, { vector: c.vector }]));
  if (chunks.length > 0) await tx.copyBinary(table, CHUNK_COLUMNS, encodeCopyRows(chunks));
}

const DOCUMENT_COLUMNS = ['collection_id', 'doc_id', 'content_hash', 'metadata'] as const;
/** Postgres' unique_violation. */
const UNIQUE_VIOLATION = '23505';

/**
 * Inserts documents that were absent at the lookup with one binary COPY,
 * under a savepoint: when a concurrent transaction inserted one of them
 * meanwhile, the COPY is undone and false returned.
 */
async function copyNewDocuments(tx: SqlSession, collection: Collection, documents: readonly DocumentWrite[]): Promise<boolean> {
  const rows = documents.map((d): CopyField[] => [{ int4: collection.id }, { text: d.docId }, { text: d.contentHash }, { jsonb: JSON.stringify(d.metadata) }]);
  await tx.exec('SAVEPOINT hearth_new_documents');
  try {
    await tx.copyBinary('hearth_documents', DOCUMENT_COLUMNS, encodeCopyRows(rows));
  } catch (error) {
    if ((error as { code?: unknown }).code !== UNIQUE_VIOLATION) throw error;
    await tx.exec('ROLLBACK TO SAVEPOINT hearth_new_documents');
    return false;
  }
  await tx.exec('RELEASE SAVEPOINT hearth_new_documents');
  return true;
}

/**
 * A vector must have the collection's dimensions, be finite and not zero as
 * the float4s it is stored as; otherwise VECTOR_INVALID (400).
 */
export function assertVector(vector: ArrayLike<number>, dimensions: number): void {
  if (vector.length !== dimensions) {
    throw new HearthError('VECTOR_INVALID', `the vector has ${vector.length} dimensions; the collection's have ${dimensions}`, { details: { dimensions: vector.length, expected: dimensions } });
  }
  // Float4s already: no rounding to check (the bulk path's common case, 0.8 µs per 384-d vector).
  const float4s = vector instanceof Float32Array;
  let zero = true;
  for (let i = 0; i < vector.length; i++) {
    const v = vector[i]!;
    // Checked as the float4 it becomes: 1e39 would be stored as Infinity, and 1e-50 as 0.
    const stored = float4s ? v : typeof v === 'number' ? Math.fround(v) : Number.NaN;
    if (stored - stored !== 0) throw new HearthError('VECTOR_INVALID', `the vector's component ${i} is ${String(v)}, not a finite float4`, { details: { index: i } });
    if (stored !== 0) zero = false;
  }
  if (zero) throw new HearthError('VECTOR_INVALID', 'the vector is zero: it has no direction to compare by');
}

export function collectionNotFound(name: string): HearthError {
  return new HearthError('COLLECTION_NOT_FOUND', `no collection named "${name}"`, { details: { collection: name }, hint: 'hearth memory ls lists them' });
}

export function collectionExists(name: string): HearthError {
  return new HearthError('COLLECTION_EXISTS', `a collection named "${name}" already exists`, { details: { collection: name } });
}
