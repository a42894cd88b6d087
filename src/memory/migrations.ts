import type { SqlEngine } from './engine.js';

interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * The schema, as numbered steps that are applied once each, in order, and
 * never edited after release: a database made by any earlier hearth is
 * brought forward by the steps it lacks. Chunk tables are made per
 * collection (collection-store.ts), because an HNSW index needs a vector
 * column of one fixed dimension.
 */
const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'collections and documents',
    sql: `
      CREATE TABLE hearth_collections (
        id serial PRIMARY KEY,
        name text NOT NULL,
        space text NOT NULL,
        dimensions integer NOT NULL CHECK (dimensions BETWEEN 1 AND 16000),
        index_state text NOT NULL DEFAULT 'exact' CHECK (index_state IN ('exact', 'building', 'hnsw', 'failed')),
        index_params jsonb NOT NULL DEFAULT '{}',
        recall real,
        -- A collection being filled for a migration has the name it will take, and live = false until the swap.
        live boolean NOT NULL DEFAULT true,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE UNIQUE INDEX hearth_collections_live_name ON hearth_collections (name) WHERE live;
      CREATE TABLE hearth_documents (
        collection_id integer NOT NULL REFERENCES hearth_collections (id) ON DELETE CASCADE,
        doc_id text NOT NULL CHECK (length(doc_id) BETWEEN 1 AND 1024),
        content_hash text NOT NULL,
        metadata jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (collection_id, doc_id)
      );
      CREATE INDEX hearth_documents_metadata ON hearth_documents USING gin (metadata jsonb_path_ops);
    `,
  },
  {
    version: 2,
    name: 're-embedding migrations',
    sql: `
      -- A collection re-embedded into another space: the target is filled while the source serves,
      -- then one transaction swaps which of them is live; the source is kept until gc.
      CREATE TABLE hearth_reembeds (
        id serial PRIMARY KEY,
        name text NOT NULL,
        source_id integer NOT NULL REFERENCES hearth_collections (id) ON DELETE CASCADE,
        target_id integer NOT NULL REFERENCES hearth_collections (id) ON DELETE CASCADE,
        state text NOT NULL CHECK (state IN ('backfilling', 'swapped')),
        evaluation jsonb,
        started_at timestamptz NOT NULL DEFAULT now(),
        swapped_at timestamptz
      );
      CREATE UNIQUE INDEX hearth_reembeds_one_running ON hearth_reembeds (source_id) WHERE state = 'backfilling';
    `,
  },
  {
    version: 3,
    name: 'chunk tables without a foreign key',
    sql: `
      -- Checking each chunk's document cost a quarter of the bulk path (collection-store.ts, createCollection);
      -- dropping the column drops the foreign key built on it.
      DO $$
      DECLARE t text;
      BEGIN
        FOR t IN SELECT 'hearth_chunks_' || id FROM hearth_collections LOOP
          EXECUTE format('ALTER TABLE IF EXISTS %I DROP COLUMN IF EXISTS collection_id', t);
        END LOOP;
      END $$;
    `,
  },
  {
    version: 4,
    name: 'dead letters',
    sql: `
      -- A source that ingestion could not read (a broken PDF, bad JSON): kept with its reason until a retry reads it.
      CREATE TABLE hearth_dead_letters (
        collection_id integer NOT NULL REFERENCES hearth_collections (id) ON DELETE CASCADE,
        source text NOT NULL,
        code text NOT NULL,
        reason text NOT NULL,
        attempts integer NOT NULL DEFAULT 1,
        first_at timestamptz NOT NULL DEFAULT now(),
        last_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (collection_id, source)
      );
    `,
  },
];

/** The schema version this hearth writes. */
export const SCHEMA_VERSION = MIGRATIONS.at(-1)!.version;

/**
 * Applies the migrations a database lacks, each in its own transaction under
 * an advisory lock, so several hearths starting on one Postgres apply each
 * step once. Returns the versions applied now.
 */
export async function migrate(engine: SqlEngine): Promise<number[]> {
  await engine.exec(`CREATE TABLE IF NOT EXISTS hearth_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  const applied: number[] = [];
  for (const migration of MIGRATIONS) {
    const done = await engine.transaction(async (tx) => {
      // An arbitrary constant key: hearth's schema lock.
      await tx.query('SELECT pg_advisory_xact_lock(7243001)');
      const present = await tx.query('SELECT 1 FROM hearth_migrations WHERE version = $1', [migration.version]);
      if (present.length > 0) return false;
      await tx.exec(migration.sql);
      await tx.query('INSERT INTO hearth_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
      return true;
    });
    if (done) applied.push(migration.version);
  }
  return applied;
}

/** The newest version a database has, 0 for none. */
export async function schemaVersion(engine: SqlEngine): Promise<number> {
  const rows = await engine.query<{ v: number | null }>(`SELECT max(version) AS v FROM hearth_migrations`).catch(() => [{ v: null }]);
  return rows[0]?.v ?? 0;
}
