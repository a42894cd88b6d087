import { HearthError } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import type { Lease } from '../pool/model-pool.js';
import { asSpeakerModel } from '../runtime/audio/speaker-guard.js';
import type { AudioEmbedOptions, AudioInput } from '../runtime/types.js';
import type { CheckReport, Spaces } from '../spaces/index.js';
import { assertVector, collectionExists, CollectionStore, deleteDocuments, type Collection, type CollectionCounts, type DocumentSummary, type Hit, type SimilarityDistribution } from './collection-store.js';
import type { DocumentInput } from './document-input.js';
import { DocumentWriter, withSpaceLease, type AddReport } from './document-writer.js';
import { DeadLetters, type DeadLetter } from './dead-letters.js';
import { ReembedStore } from './reembed-store.js';
import { selfTest, type SelfTestReport } from './self-test.js';
import { abortReembed, collectRetired, reembed, type ReembedDeps, type ReembedOptions, type ReembedReport, type ReembedTarget } from './reembed.js';
import { assertCollectionName } from './collection-name.js';
import type { SqlEngine } from './engine.js';
import { buildHnsw, hnswIndexValid, measureRecall, withIndexLock, type HnswParams } from './hnsw-index.js';

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
  /** Chunks at which a collection stops being searched exactly and gets an HNSW index (Infinity: never). */
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
export const DEFAULT_INDEX_POLICY: IndexPolicy = { threshold: 5000, m: 16, efConstruction: 64, buildMemoryMiB: 256, efSearch: 200, recallSamples: 20 };

export type { DocumentInput } from './document-input.js';

export type { AddReport } from './document-writer.js';
export type { DeadLetter } from './dead-letters.js';
export type { SelfTestReport } from './self-test.js';

export interface QueryInput {
  /** Text to embed under the collection's space, or a vector of the collection's dimensions. */
  text?: string | undefined;
  vector?: ArrayLike<number> | undefined;
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
  /** A running re-embed: the space it goes to, and the documents it has done of all. */
  reembedding: { to: string; documents: number; done: number } | null;
  /** Set when the collection has outgrown the embedded engine: what to do about it. */
  advice: string | null;
}

/**
 * Chunks in one collection past which the embedded engine stops serving
 * well. Measured (issue 14, 384-d, 2 vCPUs): an HNSW build of 100k rows takes
 * 237–279 s in PGlite with 1 GB of build memory and 919 s with 64 MB, against
 * 70–100 s in Postgres; and PGlite is one connection, so a build holds every
 * query and write of the process until it ends.
 */
export const PGLITE_COMFORT_CHUNKS = 100_000;

/**
 * Vector memory: collections of chunked, embedded documents, each bound to
 * one embedding space. Every write and every text query passes the space's
 * guard first, so no vector from a runtime the space cannot use is ever
 * stored or compared. A document whose text is unchanged embeds nothing.
 */
export class Memory {
  readonly store: CollectionStore;
  readonly reembeds: ReembedStore;
  readonly #deadLetters: DeadLetters;
  readonly #writer: DocumentWriter;
  readonly #policy: IndexPolicy;
  readonly #indexing = new Map<number, Promise<void>>();

  constructor(private readonly options: MemoryOptions) {
    this.store = new CollectionStore(options.engine);
    this.reembeds = new ReembedStore(options.engine, this.store);
    this.#deadLetters = new DeadLetters(options.engine);
    this.#writer = new DocumentWriter({ store: this.store, reembeds: this.reembeds, spaces: options.spaces, logger: options.logger });
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
    if ('space' in from) {
      const record = await this.options.spaces.get(from.space);
      return this.store.create(name, record.name, record.model.dimensions);
    }
    // A taken name fails before the model is loaded and its probes embedded.
    if ((await this.store.list()).some((c) => c.name === name)) throw collectionExists(name);
    const record = await this.options.spaces.create(name, from.model, { signal });
    try {
      return await this.store.create(name, record.name, record.model.dimensions);
    } catch (error) {
      // The space was made for this collection alone: it goes with the failure, so a retry can make it again.
      await this.options.spaces.remove(record.name).catch(() => undefined);
      throw error;
    }
  }

  list(): Promise<Collection[]> {
    return this.store.list();
  }

  get(name: string): Promise<Collection> {
    return this.store.get(assertCollectionName(name));
  }

  /** Drops a collection, and the target of its running re-embed; collections it retired stay until gc(). */
  async drop(name: string): Promise<void> {
    const collection = await this.get(name);
    const running = await this.reembeds.running(collection.id);
    if (running) await this.reembeds.abort(running);
    await this.store.drop(collection);
  }

  /**
   * Re-embeds a collection into another space (an existing one, or a new one
   * made from a model) with no downtime, or resumes the re-embed a previous
   * run left: see reembed.ts.
   */
  migrate(name: string, to: ReembedTarget | undefined, options: ReembedOptions = {}): Promise<ReembedReport> {
    assertCollectionName(name);
    return reembed(this.#reembedDeps(), name, to, options);
  }

  /** Whether a space of this name exists (a migration's --to names a space or a model). */
  async spaceExists(name: string): Promise<boolean> {
    return (await this.options.spaces.list()).some((s) => s.name === name);
  }

  /** Abandons a collection's running re-embed (its target is dropped). */
  abortMigration(name: string): Promise<void> {
    return abortReembed(this.#reembedDeps(), assertCollectionName(name));
  }

  /** Drops the collections that re-embed swaps retired. */
  gc(): Promise<Array<{ name: string; space: string; id: number }>> {
    return collectRetired(this.#reembedDeps());
  }

  #reembedDeps(): ReembedDeps {
    return {
      engine: this.options.engine,
      store: this.store,
      reembeds: this.reembeds,
      spaces: this.options.spaces,
      logger: this.options.logger,
      efSearch: this.#policy.efSearch,
      withLease: (collection, signal, work) => this.#lease(collection, signal, work),
      maintainIndex: (collection) => this.#maintainIndex(collection),
    };
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
      if (!Number.isFinite(this.#policy.threshold) || !(await this.store.hasChunks(current, this.#policy.threshold))) return;
      const { threshold: _t, efSearch, recallSamples, ...params } = this.#policy;
      await withIndexLock(this.options.engine, current, async (session) => {
        // Read again under the lock: whoever held it may have built the index meanwhile.
        const locked = await this.store.byId(collection.id);
        if (!locked || locked.indexState === 'hnsw' || locked.indexState === 'failed') return;
        const started = performance.now();
        // A build that a killed process left running on the server may have finished it: measured, not rebuilt.
        const finished = locked.indexState === 'building' && (await hnswIndexValid(session, locked)) === true;
        if (!finished) {
          await this.store.setIndexState(locked, 'building', { params });
          this.options.logger.info({ collection: locked.name, params }, 'building the HNSW index');
          await buildHnsw(session, this.options.engine.kind, locked, params);
        }
        const recall = await measureRecall(this.options.engine, locked, { samples: recallSamples, k: 10, efSearch });
        await this.store.setIndexState(locked, 'hnsw', { params: finished ? locked.indexParams : params, recall });
        this.options.logger.info({ collection: locked.name, ms: Math.round(performance.now() - started), recall, reused: finished }, 'HNSW index built');
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

  /**
   * Chunks, embeds (under the space's guard) and writes documents: see
   * DocumentWriter. A collection that reached the threshold then gets its
   * index, in the background or before this returns.
   */
  async add(name: string, documents: readonly DocumentInput[], signal?: AbortSignal): Promise<AddReport> {
    assertCollectionName(name);
    const { report, collection } = await this.#writer.add(name, documents, signal);
    const building = this.#maintainIndex(collection);
    if (!this.options.indexInBackground) await building;
    return report;
  }

  /** Deletes documents, from the collection and from the target of its running re-embed alike. */
  async remove(name: string, docIds: readonly string[]): Promise<number> {
    assertCollectionName(name);
    return this.#writer.write(name, async () => async (tx, targets) => {
      if (targets.shadow) await deleteDocuments(tx, targets.shadow, docIds);
      return deleteDocuments(tx, targets.live, docIds);
    });
  }

  /** Speaker embeddings of clips by the collection's model, under its space's guard (a speaker collection's space is of audio probes). */
  async embedAudio(name: string, clips: readonly AudioInput[], options: AudioEmbedOptions = {}): Promise<Float32Array[]> {
    const collection = await this.get(name);
    return withSpaceLease(this.options.spaces, collection, options.signal, (lease) =>
      asSpeakerModel(lease.model, lease.resolved.ref, `collection "${name}" is in its space`).embedAudio(clips, options),
    );
  }

  /** Documents in id order, a page at a time (`after`: the last id of the previous page). */
  async documents(name: string, options: { limit?: number | undefined; after?: string | undefined } = {}): Promise<DocumentSummary[]> {
    return this.store.documents(await this.get(name), { limit: options.limit ?? 100, after: options.after });
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

  /** Sources ingestion could not read into this collection, with their reasons. */
  async deadLetters(name: string): Promise<DeadLetter[]> {
    return this.#deadLetters.list(await this.get(name));
  }

  /** Records sources that could not be read (`failed`) and forgets those read at last (`read`). */
  async settleSources(name: string, outcome: { failed: ReadonlyArray<{ source: string; code: string; reason: string }>; read: readonly string[] }): Promise<void> {
    const collection = await this.get(name);
    await this.#deadLetters.record(collection, outcome.failed);
    await this.#deadLetters.clear(collection, outcome.read);
  }

  /** Queries sampled chunks of these documents by their own text: each must come back first (see self-test.ts). */
  async selfTest(name: string, options: { docIds: readonly string[]; samples: number; signal?: AbortSignal | undefined }): Promise<SelfTestReport> {
    const collection = await this.get(name);
    return selfTest(this.options.engine, collection, { docIds: options.docIds, samples: options.samples, query: (text) => this.query(name, { text, topK: 1, signal: options.signal }) });
  }

  async stats(name: string, signal?: AbortSignal): Promise<CollectionStats> {
    const collection = await this.get(name);
    const counts = await this.store.counts(collection);
    const report = await this.options.spaces.check(collection.space, { signal });
    const running = await this.reembeds.running(collection.id);
    const target = running && (await this.store.byId(running.targetId));
    return {
      reembedding: running && target ? { to: target.space, ...(await this.reembeds.progress(running)) } : null,
      advice:
        this.options.engine.kind === 'pglite' && counts.chunks > PGLITE_COMFORT_CHUNKS
          ? `${counts.chunks} chunks is past what the embedded database serves well (${PGLITE_COMFORT_CHUNKS}): index builds take minutes and hold every other query; set HEARTH_DATABASE_URL to a Postgres with pgvector`
          : null,
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
    const { vectors } = await this.#lease(collection, input.signal, (lease) => lease.model.embed([input.text!], { truncate: true, signal: input.signal }));
    return vectors[0]!;
  }

  #lease<T>(collection: Collection, signal: AbortSignal | undefined, work: (lease: Lease) => Promise<T>): Promise<T> {
    return withSpaceLease(this.options.spaces, collection, signal, work);
  }
}

export function createMemory(options: MemoryOptions): Memory {
  return new Memory(options);
}

