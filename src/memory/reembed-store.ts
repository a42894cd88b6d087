import { HearthError } from '../errors/index.js';
import { chunkTable, collectionNotFound, createCollection, writeDocuments, type Collection, type CollectionStore, type DocumentWrite } from './collection-store.js';
import type { SqlEngine, SqlSession } from './engine.js';

/** A collection being re-embedded into another space, or one that was (kept until gc). */
export interface Reembed {
  id: number;
  name: string;
  sourceId: number;
  targetId: number;
  state: 'backfilling' | 'swapped';
  evaluation: Record<string, unknown> | null;
}

/** Where a write to a collection's name goes: the live collection, and the target of its running re-embed. */
export interface WriteTargets {
  live: Collection;
  shadow: Collection | undefined;
}

/** A source document that the target lacks, or holds with other content. */
export interface StaleDocument {
  docId: string;
  contentHash: string;
  metadata: Record<string, unknown>;
}

const REEMBED_COLUMNS = `id, name, source_id AS "sourceId", target_id AS "targetId", state, evaluation`;

/**
 * The SQL of re-embedding a collection with no downtime. The target (a
 * collection with live = false) is filled from the source's stored chunk
 * texts while the source answers; every write made meanwhile goes to both in
 * one transaction; one transaction swaps them. Writes hold the live
 * collection's row FOR SHARE and the swap holds it FOR UPDATE, so a write
 * sees either the state before the swap or the state after it, never half.
 */
export class ReembedStore {
  constructor(
    private readonly engine: SqlEngine,
    private readonly collections: CollectionStore,
  ) {}

  async running(sourceId: number): Promise<Reembed | undefined> {
    const [row] = await this.engine.query<Reembed>(`SELECT ${REEMBED_COLUMNS} FROM hearth_reembeds WHERE source_id = $1 AND state = 'backfilling'`, [sourceId]);
    return row;
  }

  async targets(name: string): Promise<WriteTargets> {
    const live = await this.collections.get(name);
    const running = await this.running(live.id);
    return { live, shadow: running ? await this.collections.byId(running.targetId) : undefined };
  }

  /** Starts re-embedding `source` into `space`: the target collection and the record, in one transaction. */
  async start(source: Collection, space: string, dimensions: number): Promise<Reembed> {
    return this.engine.transaction(async (tx) => {
      const [locked] = await tx.query<{ live: boolean }>(`SELECT live FROM hearth_collections WHERE id = $1 FOR UPDATE`, [source.id]);
      if (!locked?.live) throw collectionNotFound(source.name);
      if ((await tx.query(`SELECT 1 FROM hearth_reembeds WHERE source_id = $1 AND state = 'backfilling'`, [source.id])).length > 0) {
        throw new HearthError('REEMBED_RUNNING', `collection "${source.name}" is already being re-embedded`, { details: { collection: source.name } });
      }
      const target = await createCollection(tx, source.name, space, dimensions, false);
      const [row] = await tx.query<Reembed>(
        `INSERT INTO hearth_reembeds (name, source_id, target_id, state) VALUES ($1, $2, $3, 'backfilling') RETURNING ${REEMBED_COLUMNS}`,
        [source.name, source.id, target.id],
      );
      return row!;
    });
  }

  /**
   * Runs `work` in one transaction in which the write targets are still
   * `expected`, or returns { changed: true }, running nothing, when a
   * re-embed started or a swap happened since: the caller prepares the
   * write again (embedding for the new targets) and retries.
   */
  async within<T>(expected: WriteTargets, work: (tx: SqlSession) => Promise<T>): Promise<{ changed: false; value: T } | { changed: true }> {
    return this.engine.transaction(async (tx) => ((await this.#unchanged(tx, expected)) ? { changed: false as const, value: await work(tx) } : { changed: true as const }));
  }

  async #unchanged(tx: SqlSession, expected: WriteTargets): Promise<boolean> {
    const [live] = await tx.query<{ live: boolean }>(`SELECT live FROM hearth_collections WHERE id = $1 FOR SHARE`, [expected.live.id]);
    if (!live) throw collectionNotFound(expected.live.name);
    if (!live.live) return false;
    const [running] = await tx.query<{ target_id: number }>(`SELECT target_id FROM hearth_reembeds WHERE source_id = $1 AND state = 'backfilling'`, [expected.live.id]);
    return running?.target_id === expected.shadow?.id;
  }

  /** Up to `limit` source documents the target lacks or holds with other content, by doc_id. */
  pending(reembed: Reembed, limit: number): Promise<StaleDocument[]> {
    return this.engine.query<StaleDocument>(
      `SELECT s.doc_id AS "docId", s.content_hash AS "contentHash", s.metadata
       FROM hearth_documents s LEFT JOIN hearth_documents t ON t.collection_id = $2 AND t.doc_id = s.doc_id
       WHERE s.collection_id = $1 AND (t.doc_id IS NULL OR t.content_hash <> s.content_hash OR t.metadata <> s.metadata)
       ORDER BY s.doc_id LIMIT $3`,
      [reembed.sourceId, reembed.targetId, limit],
    );
  }

  /** The stored chunk texts of `docIds` in the source, in order: what the target is embedded from. */
  async chunkTexts(source: Collection, docIds: readonly string[]): Promise<Map<string, string[]>> {
    const rows = await this.engine.query<{ doc_id: string; text: string }>(`SELECT doc_id, text FROM ${chunkTable(source)} WHERE doc_id = ANY($1::text[]) ORDER BY doc_id, chunk`, [[...docIds]]);
    const texts = new Map<string, string[]>();
    for (const row of rows) {
      const list = texts.get(row.doc_id) ?? [];
      list.push(row.text);
      texts.set(row.doc_id, list);
    }
    return texts;
  }

  /**
   * Writes backfilled documents to the target, in one transaction, keeping
   * only those whose source content is still what was embedded: a document
   * rewritten or deleted meanwhile was written to both by its own write.
   * Returns how many were written.
   */
  async backfill(reembed: Reembed, target: Collection, writes: readonly DocumentWrite[]): Promise<number> {
    if (writes.length === 0) return 0;
    return this.engine.transaction(async (tx) => {
      const current = await tx.query<{ doc_id: string; content_hash: string; metadata: Record<string, unknown> }>(
        `SELECT doc_id, content_hash, metadata FROM hearth_documents WHERE collection_id = $1 AND doc_id = ANY($2::text[]) FOR SHARE`,
        [reembed.sourceId, writes.map((w) => w.docId)],
      );
      const now = new Map(current.map((r) => [r.doc_id, r]));
      // Metadata is taken as it is now, under the lock: a metadata-only change made since the read is kept.
      const fresh = writes.flatMap((w) => {
        const row = now.get(w.docId);
        return row?.content_hash === w.contentHash ? [{ ...w, metadata: row.metadata }] : [];
      });
      await writeDocuments(tx, target, fresh);
      return fresh.length;
    });
  }

  /** Documents of the source, and of them how many the target holds with the same content. */
  async progress(reembed: Reembed): Promise<{ documents: number; done: number }> {
    const [row] = await this.engine.query<{ documents: string; done: string }>(
      `SELECT count(*) AS documents, count(t.doc_id) AS done
       FROM hearth_documents s LEFT JOIN hearth_documents t ON t.collection_id = $2 AND t.doc_id = s.doc_id AND t.content_hash = s.content_hash AND t.metadata = s.metadata
       WHERE s.collection_id = $1`,
      [reembed.sourceId, reembed.targetId],
    );
    return { documents: Number(row!.documents), done: Number(row!.done) };
  }

  /**
   * Makes the target the live collection and retires the source, in one
   * transaction, if the target holds exactly the source's documents with
   * the same content; otherwise changes nothing and returns false (a write
   * the backfill has not seen yet: backfill again).
   */
  async swap(reembed: Reembed, evaluation: Record<string, unknown>): Promise<boolean> {
    return this.engine.transaction(async (tx) => {
      await tx.query(`SELECT 1 FROM hearth_collections WHERE id = $1 FOR UPDATE`, [reembed.sourceId]);
      const [diff] = await tx.query<{ n: string }>(
        `SELECT count(*) AS n FROM (
           (SELECT doc_id, content_hash, metadata FROM hearth_documents WHERE collection_id = $1 EXCEPT SELECT doc_id, content_hash, metadata FROM hearth_documents WHERE collection_id = $2)
           UNION ALL
           (SELECT doc_id, content_hash, metadata FROM hearth_documents WHERE collection_id = $2 EXCEPT SELECT doc_id, content_hash, metadata FROM hearth_documents WHERE collection_id = $1)
         ) AS differences`,
        [reembed.sourceId, reembed.targetId],
      );
      if (Number(diff!.n) > 0) return false;
      await tx.query(`UPDATE hearth_collections SET live = false WHERE id = $1`, [reembed.sourceId]);
      await tx.query(`UPDATE hearth_collections SET live = true WHERE id = $1`, [reembed.targetId]);
      await tx.query(`UPDATE hearth_reembeds SET state = 'swapped', swapped_at = now(), evaluation = $2::jsonb WHERE id = $1`, [reembed.id, JSON.stringify(evaluation)]);
      return true;
    });
  }

  /** Abandons a running re-embed: its target is dropped; the source never stopped being live. */
  async abort(reembed: Reembed): Promise<void> {
    const target = await this.collections.byId(reembed.targetId);
    if (target) await this.collections.drop(target);
  }

  /** Collections retired by a swap, which gc removes. */
  async retired(): Promise<Collection[]> {
    const rows = await this.engine.query<{ source_id: number }>(`SELECT source_id FROM hearth_reembeds WHERE state = 'swapped' ORDER BY id`);
    const found = await Promise.all(rows.map((r) => this.collections.byId(r.source_id)));
    return found.filter((c): c is Collection => c !== undefined && !c.live);
  }
}
