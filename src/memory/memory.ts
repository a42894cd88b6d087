import { createHash } from 'node:crypto';
import { HearthError } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import type { Lease } from '../pool/model-pool.js';
import type { CheckReport, Spaces, SpaceRecord } from '../spaces/index.js';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { chunkBudget, chunkText } from './chunker.js';
import { assertVector, CollectionStore, type Collection, type CollectionCounts, type DocumentWrite, type Hit, type SimilarityDistribution } from './collection-store.js';
import { assertCollectionName } from './collection-name.js';
import type { SqlEngine } from './engine.js';
import { buildHnsw, measureRecall, withIndexLock, type HnswParams } from './hnsw-index.js';

export interface MemoryOptions {
  engine: SqlEngine;
  spaces: Spaces;
  logger: Logger;
  /** When a collection gets its HNSW index, and how it is built and queried. */
  index?: IndexPolicy | undefined;
  /**
   * Build indexes in the background (a server), or before add() returns
   * (the CLI, whose process ends with the command).
   */
  indexInBackground?: boolean | undefined;
}

export interface IndexPolicy extends HnswParams {
  /** Chunks at which a collection stops being searched exactly and gets an HNSW index. */
  threshold: number;
  /** hnsw.ef_search for queries that do not set their own. */
  efSearch: number;
  /** Sampled queries for the recall measured after each build. */
  recallSamples: number;
}

/**
 * Exact search stays under ~20 ms to 5,000 chunks of 384 dimensions in PGlite on 2 busy vCPUs
 * (13.6 ms at 2,500, 20.9 at 5,000, 24.4 at 10,000, 43.7 at 20,000), and its recall is 1.
 */
export const DEFAULT_INDEX_POLICY: IndexPolicy = { threshold: 5000, m: 16, efConstruction: 64, buildMemoryMiB: 256, efSearch: 100, recallSamples: 20 };

/** A document to add: its text, an id (the text's sha256 when absent) and metadata. */
export interface DocumentInput {
  id?: string | undefined;
  text: string;
  metadata?: Record<string, unknown> | undefined;
}

export interface AddReport {
  /** Documents embedded and written. */
  added: number;
  /** Documents whose text was already stored under their id: nothing embedded (their metadata is updated). */
  unchanged: number;
  chunks: number;
}

export interface QueryInput {
  /** Text to embed under the collection's space, or a vector of the collection's dimensions. */
  text?: string | undefined;
  vector?: readonly number[] | undefined;
  topK?: number | undefined;
  minSimilarity?: number | undefined;
  filter?: Record<string, unknown> | undefined;
  /** HNSW's candidate list for this query (more: better recall, slower). */
  efSearch?: number | undefined;
  signal?: AbortSignal | undefined;
}

export interface CollectionStats extends CollectionCounts {
  name: string;
  space: string;
  dimensions: number;
  indexState: Collection['indexState'];
  recall: number | null;
  engine: SqlEngine['kind'];
  /** The space check on the runtime at hand. */
  verdict: CheckReport['verdict'];
}

/** Documents embedded per model call and written per transaction. */
const BATCH_CHUNKS = 64;
/** Overlap between consecutive chunks, in tokens, capped at an eighth of a chunk. */
const OVERLAP_TOKENS = 32;

/**
 * Vector memory: collections of chunked, embedded documents, each bound to
 * one embedding space. Every write and every text query passes the space's
 * guard first, so no vector from a runtime the space cannot use is ever
 * stored or compared. A document whose text is unchanged embeds nothing.
 */
export class Memory {
  readonly store: CollectionStore;
  readonly #policy: IndexPolicy;
  readonly #indexing = new Map<number, Promise<void>>();

  constructor(private readonly options: MemoryOptions) {
    this.store = new CollectionStore(options.engine);
    this.#policy = options.index ?? DEFAULT_INDEX_POLICY;
  }

  /** Starts again every index build that a process left in the middle ('building' with nobody building it). */
  async resumeIndexes(): Promise<void> {
    const collections = await this.store.list().catch(() => []);
    await Promise.all(collections.filter((c) => c.indexState === 'building').map((c) => this.#maintainIndex(c)));
  }

  /** Resolves when no index build of this process is running (for shutdown, and tests). */
  async settled(): Promise<void> {
    while (this.#indexing.size > 0) await Promise.allSettled([...this.#indexing.values()]);
  }

  get engine(): SqlEngine {
    return this.options.engine;
  }

  /**
   * A collection in an existing space, or in a new space of the same name
   * made from `model` (its probes are embedded now, so the space records
   * the runtime that will write the collection's first vectors).
   */
  async create(name: string, from: { space: string } | { model: string }, signal?: AbortSignal): Promise<Collection> {
    assertCollectionName(name);
    const record = 'space' in from ? await this.options.spaces.get(from.space) : await this.options.spaces.create(name, from.model, { signal });
    return this.store.create(name, record.name, record.model.dimensions);
  }

  list(): Promise<Collection[]> {
    return this.store.list();
  }

  get(name: string): Promise<Collection> {
    return this.store.get(assertCollectionName(name));
  }

  async drop(name: string): Promise<void> {
    await this.store.drop(await this.get(name));
  }

  /** Chunks, embeds (under the space's guard) and writes documents, a transaction per batch of chunks. */
  async add(name: string, documents: readonly DocumentInput[], signal?: AbortSignal): Promise<AddReport> {
    const collection = await this.get(name);
    const docs = documents.map(normalizeDocument);
    const ids = new Set<string>();
    for (const doc of docs) {
      if (ids.has(doc.id)) throw new HearthError('USAGE', `document id "${doc.id}" appears twice in one request`, { details: { id: doc.id } });
      ids.add(doc.id);
    }
    const stored = await this.store.contentHashes(collection, [...ids]);
    const changed = docs.filter((d) => stored.get(d.id) !== d.hash);
    const unchanged = docs.filter((d) => stored.get(d.id) === d.hash);
    if (unchanged.length > 0) await this.store.updateMetadata(collection, unchanged.map((d) => ({ docId: d.id, metadata: d.metadata })));
    if (changed.length === 0) return { added: 0, unchanged: unchanged.length, chunks: 0 };

    const { lease } = await this.#guarded(collection, signal);
    let chunks = 0;
    try {
      const budget = chunkBudget(lease.model);
      const overlap = Math.min(OVERLAP_TOKENS, Math.floor(budget / 8));
      const countTokens = (s: string) => lease.model.countTokens(s);
      let batch: DocumentWrite[] = [];
      let batchChunks = 0;
      const flush = async () => {
        if (batch.length === 0) return;
        const texts = batch.flatMap((d) => d.chunks.map((c) => c.text));
        const { vectors } = await lease.model.embed(texts, { truncate: false, signal });
        let i = 0;
        for (const doc of batch) for (const chunk of doc.chunks) chunk.vector = vectors[i++]!;
        await this.store.write(collection, batch);
        chunks += batchChunks;
        batch = [];
        batchChunks = 0;
      };
      for (const doc of changed) {
        // Chunking is synchronous (1–3 s per MB); a turn between documents lets other requests in.
        await nextTurn();
        const pieces = chunkText(doc.text, { maxTokens: budget, overlapTokens: overlap, countTokens });
        // A document is written whole, in one transaction, even when it alone exceeds a batch.
        if (batchChunks > 0 && batchChunks + pieces.length > BATCH_CHUNKS) await flush();
        batch.push({ docId: doc.id, contentHash: doc.hash, metadata: doc.metadata, chunks: pieces.map((p) => ({ text: p.text, tokens: p.tokens, vector: [] as ArrayLike<number> })) });
        batchChunks += pieces.length;
        if (batchChunks >= BATCH_CHUNKS) await flush();
      }
      await flush();
    } finally {
      lease.release();
    }
    const building = this.#maintainIndex(collection);
    if (!this.options.indexInBackground) await building;
    return { added: changed.length, unchanged: unchanged.length, chunks };
  }

  /**
   * Gives a collection that reached the threshold its HNSW index, once per
   * collection at a time; a build left half-done by a process that died
   * ('building' with nobody holding the index lock) is started again.
   * Never throws: a failed build is recorded ('failed') and logged, and the
   * collection keeps answering by exact search.
   */
  #maintainIndex(collection: Collection): Promise<void> {
    const running = this.#indexing.get(collection.id);
    if (running) return running;
    const build = (async () => {
      const current = await this.store.byId(collection.id);
      if (!current || current.indexState === 'hnsw' || current.indexState === 'failed') return;
      if ((await this.store.counts(current)).chunks < this.#policy.threshold) return;
      const { threshold: _t, efSearch, recallSamples, ...params } = this.#policy;
      await withIndexLock(this.options.engine, current, async (session) => {
        const started = performance.now();
        await this.store.setIndexState(current, 'building', { params });
        this.options.logger.info({ collection: current.name, params }, 'building the HNSW index');
        await buildHnsw(session, this.options.engine.kind, current, params);
        const recall = await measureRecall(this.options.engine, current, { samples: recallSamples, k: 10, efSearch });
        await this.store.setIndexState(current, 'hnsw', { params, recall });
        this.options.logger.info({ collection: current.name, ms: Math.round(performance.now() - started), recall }, 'HNSW index built');
      });
    })()
      .catch(async (error: unknown) => {
        this.options.logger.error({ collection: collection.name, err: (error as Error).message }, 'HNSW index build failed; searching exactly');
        await this.store.setIndexState(collection, 'failed').catch(() => undefined);
      })
      .finally(() => this.#indexing.delete(collection.id));
    this.#indexing.set(collection.id, build);
    return build;
  }

  async remove(name: string, docIds: readonly string[]): Promise<number> {
    return this.store.deleteDocuments(await this.get(name), docIds);
  }

  /** Nearest chunks to a text (embedded under the space's guard) or to a vector. */
  async query(name: string, input: QueryInput): Promise<Hit[]> {
    const collection = await this.get(name);
    const vector = await this.#queryVector(collection, input);
    const efSearch = collection.indexState === 'hnsw' ? (input.efSearch ?? this.#policy.efSearch) : undefined;
    return this.store.search(collection, vector, { topK: input.topK ?? 10, minSimilarity: input.minSimilarity, filter: input.filter, efSearch });
  }

  /** The similarity of one query to every chunk: min, max, mean and counts above 0.3, 0.5, 0.7 and 0.9. */
  async diagnose(name: string, input: QueryInput): Promise<SimilarityDistribution> {
    const collection = await this.get(name);
    return this.store.distribution(collection, await this.#queryVector(collection, input));
  }

  async stats(name: string, signal?: AbortSignal): Promise<CollectionStats> {
    const collection = await this.get(name);
    const counts = await this.store.counts(collection);
    const report = await this.options.spaces.check(collection.space, { signal });
    return {
      name: collection.name,
      space: collection.space,
      dimensions: collection.dimensions,
      indexState: collection.indexState,
      recall: collection.recall,
      engine: this.options.engine.kind,
      ...counts,
      verdict: report.verdict,
    };
  }

  async #queryVector(collection: Collection, input: QueryInput): Promise<ArrayLike<number>> {
    if ((input.text === undefined) === (input.vector === undefined)) throw new HearthError('USAGE', 'a query needs exactly one of text or vector');
    if (input.vector !== undefined) {
      assertVector(input.vector, collection.dimensions);
      return input.vector;
    }
    if (input.text!.trim() === '') throw new HearthError('USAGE', 'the query text is empty');
    const { lease } = await this.#guarded(collection, input.signal);
    try {
      const { vectors } = await lease.model.embed([input.text!], { truncate: true, signal: input.signal });
      return vectors[0]!;
    } finally {
      lease.release();
    }
  }

  async #guarded(collection: Collection, signal: AbortSignal | undefined): Promise<{ lease: Lease; record: SpaceRecord }> {
    const record = await this.options.spaces.get(collection.space);
    if (record.model.dimensions !== collection.dimensions) {
      throw new HearthError('SPACE_MISMATCH', `collection "${collection.name}" holds ${collection.dimensions}-dimensional vectors but its space "${record.name}" makes ${record.model.dimensions}`, {
        details: { collection: collection.name, space: record.name },
      });
    }
    const { lease } = await this.options.spaces.guardedLease(record, { signal });
    return { lease, record };
  }
}

export function createMemory(options: MemoryOptions): Memory {
  return new Memory(options);
}

interface NormalizedDocument {
  id: string;
  text: string;
  hash: string;
  metadata: Record<string, unknown>;
}

function normalizeDocument(doc: DocumentInput, index: number): NormalizedDocument {
  if (typeof doc.text !== 'string' || doc.text.trim() === '') throw new HearthError('USAGE', `document ${doc.id ?? index} is empty`, { details: { index, id: doc.id } });
  const metadata = doc.metadata ?? {};
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) throw new HearthError('USAGE', `document ${doc.id ?? index}: metadata must be a JSON object`);
  const hash = createHash('sha256').update(doc.text).digest('hex');
  const id = doc.id ?? hash;
  if (id.length === 0 || id.length > 1024) throw new HearthError('USAGE', `document ids are 1 to 1,024 characters (document ${index})`);
  return { id, text: doc.text, hash, metadata };
}
