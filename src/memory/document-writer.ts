import { setImmediate as nextTurn } from 'node:timers/promises';
import { HearthError } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import type { Lease } from '../pool/model-pool.js';
import type { Spaces } from '../spaces/index.js';
import { chunkBudget, chunkText } from './chunker.js';
import { assertVector, updateMetadata, writeDocuments, type Collection, type CollectionStore, type DocumentWrite } from './collection-store.js';
import { normalizeDocuments, type DocumentInput, type NormalizedDocument } from './document-input.js';
import type { SqlSession } from './engine.js';
import type { ReembedStore, WriteTargets } from './reembed-store.js';

export interface AddReport {
  /** Documents embedded and written. */
  added: number;
  /** Documents whose content was already stored under their id: nothing embedded (their metadata is updated). */
  unchanged: number;
  chunks: number;
}

/** Chunks embedded per model call and written per transaction. */
const BATCH_CHUNKS = 64;
/** Documents that bring their own vectors, written per transaction (one binary COPY each). */
const BATCH_VECTORS = 5000;
/** A write prepared for targets that then changed is prepared again; more than this many changes in a row is a bug. */
const MAX_RETARGETS = 8;
/** Overlap between consecutive chunks, in tokens, capped at an eighth of a chunk. */
const OVERLAP_TOKENS = 32;

/**
 * The write path of vector memory: documents chunked by the collection's
 * model, embedded under its space's guard and written a batch per
 * transaction, and every write committed to the collection's current
 * targets (with its re-embed's target too, while one runs).
 */
export class DocumentWriter {
  constructor(private readonly deps: { store: CollectionStore; reembeds: ReembedStore; spaces: Spaces; logger: Logger }) {}

  /**
   * Chunks, embeds (under the space's guard) and writes documents, a
   * transaction per batch of chunks; documents that bring their own vectors
   * are written as they are, in large batches. While the collection is being
   * re-embedded, each batch is also embedded for the new space and written
   * to both collections in the same transaction.
   */
  async add(name: string, documents: readonly DocumentInput[], signal?: AbortSignal): Promise<{ report: AddReport; collection: Collection }> {
    const collection = await this.deps.store.get(name);
    const docs = normalizeDocuments(documents);
    // Every vector is checked before the first batch is written, so a bad one writes nothing.
    for (const doc of docs) if (doc.vector !== undefined) assertVector(doc.vector, collection.dimensions);
    const stored = await this.deps.store.contentHashes(collection, docs.map((d) => d.id));
    const changed = docs.filter((d) => stored.get(d.id) !== d.hash);
    const unchanged = docs.filter((d) => stored.get(d.id) === d.hash).map((d) => ({ docId: d.id, metadata: d.metadata }));
    if (unchanged.length > 0) {
      await this.write(name, async () => async (tx, targets) => {
        for (const c of [targets.live, targets.shadow]) if (c) await updateMetadata(tx, c, unchanged);
      });
    }
    let chunks = 0;
    const asIs = changed.filter((d) => d.vector !== undefined);
    for (let start = 0; start < asIs.length; start += BATCH_VECTORS) {
      const batch = asIs.slice(start, start + BATCH_VECTORS).map(storedAsIs);
      // The target of a running re-embed gets these documents from the backfill, which embeds their text in its space.
      await this.write(name, async () => (tx, targets) => writeDocuments(tx, targets.live, batch));
      chunks += batch.length;
      this.deps.logger.debug({ collection: name, documents: batch.length, chunks: batch.length }, 'batch written');
    }
    const embedding = changed.filter((d) => d.vector === undefined);
    if (embedding.length > 0) chunks += await this.#addEmbedded(name, collection, embedding, signal);
    return { report: { added: changed.length, unchanged: unchanged.length, chunks }, collection };
  }

  async #addEmbedded(name: string, collection: Collection, docs: readonly NormalizedDocument[], signal: AbortSignal | undefined): Promise<number> {
    const chunker = await this.#chunker(collection, signal);
    let chunks = 0;
    let batch: Array<{ doc: NormalizedDocument; pieces: Piece[] }> = [];
    let batchChunks = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      const ready = batch;
      batch = [];
      batchChunks = 0;
      await this.write(name, async (targets) => {
        const live = targets.live.id === collection.id ? ready.map((r) => ({ doc: r.doc, pieces: r.pieces })) : await this.#chunkFor(targets.live, ready, signal);
        const liveWrites = await this.#embed(targets.live, live, signal);
        const shadowWrites = targets.shadow ? await this.#embed(targets.shadow, await this.#chunkFor(targets.shadow, ready, signal), signal) : [];
        return async (tx, t) => {
          await writeDocuments(tx, t.live, liveWrites);
          if (t.shadow) await writeDocuments(tx, t.shadow, shadowWrites);
        };
      });
      const written = ready.reduce((n, r) => n + r.pieces.length, 0);
      chunks += written;
      this.deps.logger.debug({ collection: name, documents: ready.length, chunks: written }, 'batch written');
    };
    for (const doc of docs) {
      // Chunking is synchronous (1–3 s per MB); a turn between documents lets other requests in.
      await nextTurn();
      const pieces = chunker(doc.text);
      // A document is written whole, in one transaction, even when it alone exceeds a batch.
      if (batchChunks > 0 && batchChunks + pieces.length > BATCH_CHUNKS) await flush();
      batch.push({ doc, pieces });
      batchChunks += pieces.length;
      if (batchChunks >= BATCH_CHUNKS) await flush();
    }
    await flush();
    return chunks;
  }

  /** How a collection's model cuts text: its own tokenizer, within its input limit (read from a short guarded lease). */
  async #chunker(collection: Collection, signal: AbortSignal | undefined): Promise<(text: string) => Piece[]> {
    return withSpaceLease(this.deps.spaces, collection, signal, (lease) => {
      const budget = chunkBudget(lease.model);
      const overlap = Math.min(OVERLAP_TOKENS, Math.floor(budget / 8));
      const countTokens = (s: string) => lease.model.countTokens(s);
      return Promise.resolve((text: string) => chunkText(text, { maxTokens: budget, overlapTokens: overlap, countTokens }).map((c) => ({ text: c.text, tokens: c.tokens })));
    });
  }

  async #chunkFor(collection: Collection, docs: ReadonlyArray<{ doc: NormalizedDocument }>, signal: AbortSignal | undefined): Promise<Array<{ doc: NormalizedDocument; pieces: Piece[] }>> {
    const chunker = await this.#chunker(collection, signal);
    return docs.map(({ doc }) => ({ doc, pieces: chunker(doc.text) }));
  }

  /** Embeds chunks under the collection's space guard, as the documents' writes. */
  async #embed(collection: Collection, docs: ReadonlyArray<{ doc: NormalizedDocument; pieces: Piece[] }>, signal: AbortSignal | undefined): Promise<DocumentWrite[]> {
    const texts = docs.flatMap((d) => d.pieces.map((p) => p.text));
    const { vectors } = await withSpaceLease(this.deps.spaces, collection, signal, (lease) => lease.model.embed(texts, { truncate: false, signal }));
    let i = 0;
    return docs.map(({ doc, pieces }) => ({ docId: doc.id, contentHash: doc.hash, metadata: doc.metadata, chunks: pieces.map((p) => ({ ...p, vector: vectors[i++]! })) }));
  }

  /**
   * Prepares a write for the collection's current targets (embedding, which
   * happens outside any transaction) and commits it in one transaction that
   * finds the same targets; when a re-embed started or swapped meanwhile,
   * prepares it again for the new ones.
   */
  async write<T>(name: string, prepare: (targets: WriteTargets) => Promise<(tx: SqlSession, targets: WriteTargets) => Promise<T>>): Promise<T> {
    for (let attempt = 0; attempt < MAX_RETARGETS; attempt++) {
      const targets = await this.deps.reembeds.targets(name);
      const work = await prepare(targets);
      const done = await this.deps.reembeds.within(targets, (tx) => work(tx, targets));
      if (!done.changed) return done.value;
    }
    throw new HearthError('INTERNAL', `collection "${name}" changed its write targets ${MAX_RETARGETS} times during one write`);
  }
}

/** Runs `work` on a lease of the collection's model that passed the space's guard, released after. */
export async function withSpaceLease<T>(spaces: Spaces, collection: Collection, signal: AbortSignal | undefined, work: (lease: Lease) => Promise<T>): Promise<T> {
  const record = await spaces.get(collection.space);
  if (record.model.dimensions !== collection.dimensions) {
    throw new HearthError('SPACE_MISMATCH', `collection "${collection.name}" holds ${collection.dimensions}-dimensional vectors but its space "${record.name}" makes ${record.model.dimensions}`, {
      details: { collection: collection.name, space: record.name },
    });
  }
  const { lease } = await spaces.guardedLease(record, { signal });
  try {
    return await work(lease);
  } finally {
    lease.release();
  }
}

/** A chunk before it is embedded. */
interface Piece {
  text: string;
  tokens: number;
}

/** A document that brings its own vector: one chunk, its token count unmeasured (0). */
function storedAsIs(doc: NormalizedDocument): DocumentWrite {
  return { docId: doc.id, contentHash: doc.hash, metadata: doc.metadata, chunks: [{ text: doc.text, tokens: 0, vector: doc.vector! }] };
}
