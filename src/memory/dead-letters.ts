import type { Collection } from './collection-store.js';
import type { SqlEngine } from './engine.js';

/** A source ingestion could not read, and why. */
export interface DeadLetter {
  source: string;
  code: string;
  reason: string;
  /** Runs that failed on it. */
  attempts: number;
  firstAt: string;
  lastAt: string;
}

const TIME = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * Dead letters, kept with the collection in the memory database: every
 * worker that shares the database sees the same list, and dropping the
 * collection drops them. A source is listed once, however often it failed.
 */
export class DeadLetters {
  constructor(private readonly engine: SqlEngine) {}

  async record(collection: Collection, letters: ReadonlyArray<{ source: string; code: string; reason: string }>): Promise<void> {
    if (letters.length === 0) return;
    await this.engine.query(
      `INSERT INTO hearth_dead_letters (collection_id, source, code, reason)
       SELECT $1, l.source, l.code, l.reason FROM jsonb_to_recordset($2::jsonb) AS l (source text, code text, reason text)
       ON CONFLICT (collection_id, source) DO UPDATE
         SET code = excluded.code, reason = excluded.reason, attempts = hearth_dead_letters.attempts + 1, last_at = now()`,
      [collection.id, JSON.stringify(letters)],
    );
  }

  /** Sources read at last: their letters go. */
  async clear(collection: Collection, sources: readonly string[]): Promise<void> {
    if (sources.length === 0) return;
    await this.engine.query(`DELETE FROM hearth_dead_letters WHERE collection_id = $1 AND source = ANY($2::text[])`, [collection.id, sources]);
  }

  list(collection: Collection): Promise<DeadLetter[]> {
    return this.engine.query<DeadLetter>(
      `SELECT source, code, reason, attempts, ${TIME('first_at')} AS "firstAt", ${TIME('last_at')} AS "lastAt"
       FROM hearth_dead_letters WHERE collection_id = $1 ORDER BY source`,
      [collection.id],
    );
  }
}
