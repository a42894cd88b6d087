import { HearthError, throwIfAborted } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import type { Lease } from '../pool/model-pool.js';
import type { SpaceRecord, Spaces } from '../spaces/index.js';
import { chunkBudget, chunkText } from './chunker.js';
import { chunkTable, type Collection, type CollectionStore, type DocumentWrite } from './collection-store.js';
import type { SqlEngine } from './engine.js';
import type { Reembed, ReembedStore } from './reembed-store.js';
import { efSearchSql } from './sql-settings.js';

/** Where a collection is re-embedded to: an existing space, or a model (a new space is made for it). */
export type ReembedTarget = { space: string } | { model: string };

export interface ReembedOptions {
  signal?: AbortSignal | undefined;
  /** Swap once backfilled and evaluated (the default); false stops before, to look at the evaluation first. */
  swap?: boolean | undefined;
  /** Called after each committed backfill batch. */
  onProgress?: ((progress: { documents: number; done: number }) => void) | undefined;
}

/** How the new space's neighbourhoods compare to the old one's, on sampled chunks of the collection. */
export interface ReembedEvaluation {
  samples: number;
  k: number;
  /** Mean share of the old top-k documents that the new top-k also returns. */
  meanOverlap: number | null;
  minOverlap: number | null;
}

export interface ReembedReport {
  collection: string;
  from: string;
  to: string;
  /** Documents of the collection, and how many of them this run embedded (the rest were done before, or by dual writes). */
  documents: number;
  backfilled: number;
  /** True when this run took up a re-embed a previous run started. */
  resumed: boolean;
  evaluation: ReembedEvaluation;
  swapped: boolean;
}

/** What the re-embedder borrows from Memory. */
export interface ReembedDeps {
  engine: SqlEngine;
  store: CollectionStore;
  reembeds: ReembedStore;
  spaces: Spaces;
  logger: Logger;
  efSearch: number;
  withLease<T>(collection: Collection, signal: AbortSignal | undefined, work: (lease: Lease) => Promise<T>): Promise<T>;
  /** Builds the collection's index if it reached the threshold, and resolves when done. */
  maintainIndex(collection: Collection): Promise<void>;
}

/** Source documents embedded per batch (each one's chunks in one transaction with the rest of the batch). */
const BACKFILL_DOCUMENTS = 32;
/** Sampled chunks the evaluation compares neighbourhoods on, and their k. */
const EVALUATION_SAMPLES = 20;
const EVALUATION_K = 10;
/** A swap refused because writes outran the backfill is retried after another pass, this many times. */
const SWAP_ATTEMPTS = 5;

/**
 * Re-embeds a collection into another space with no downtime: a target
 * collection in the new space is filled from the source's stored chunk
 * texts while the source keeps answering; writes made meanwhile go to both
 * (Memory.add/remove); the new space is evaluated against the old; one
 * transaction swaps them. Each batch is a transaction, and a document is
 * done when the target holds it with the source's content hash, so a run
 * killed at any point resumes where it stopped and embeds nothing twice.
 */
export async function reembed(deps: ReembedDeps, name: string, to: ReembedTarget | undefined, options: ReembedOptions = {}): Promise<ReembedReport> {
  const source = await deps.store.get(name);
  const running = await deps.reembeds.running(source.id);
  const job = running ? await resume(deps, source, running, to) : await begin(deps, source, to, options.signal);
  const target = (await deps.store.byId(job.targetId))!;
  let backfilled = 0;
  for (let attempt = 0; ; attempt++) {
    backfilled += await backfill(deps, job, source, target, options);
    await deps.maintainIndex(target);
    const evaluation = await evaluate(deps, source, (await deps.store.byId(target.id))!, options.signal);
    const { documents } = await deps.reembeds.progress(job);
    const report = { collection: name, from: source.space, to: target.space, documents, backfilled, resumed: running !== undefined, evaluation };
    if (options.swap === false) return { ...report, swapped: false };
    throwIfAborted(options.signal);
    if (await deps.reembeds.swap(job, { ...evaluation })) {
      deps.logger.info({ collection: name, from: source.space, to: target.space, evaluation }, 'collection swapped to its new space');
      return { ...report, swapped: true };
    }
    if (attempt + 1 >= SWAP_ATTEMPTS) {
      throw new HearthError('REEMBED_RUNNING', `writes to "${name}" kept outrunning the backfill; nothing was swapped`, { hint: `run hearth memory migrate ${name} again when writes slow down` });
    }
  }
}

async function begin(deps: ReembedDeps, source: Collection, to: ReembedTarget | undefined, signal: AbortSignal | undefined): Promise<Reembed> {
  if (!to) throw new HearthError('REEMBED_NOT_FOUND', `collection "${source.name}" is not being re-embedded`, { hint: `give --to MODEL or --to SPACE` });
  const space = 'space' in to ? await deps.spaces.get(to.space) : await deps.spaces.create(await freeSpaceName(deps.spaces, source.name), to.model, { signal });
  if (space.name === source.space) throw new HearthError('USAGE', `collection "${source.name}" is already in space "${space.name}"`);
  const job = await deps.reembeds.start(source, space.name, space.model.dimensions);
  deps.logger.info({ collection: source.name, from: source.space, to: space.name }, 're-embedding started');
  return job;
}

/** A re-embed already running is taken up where it stopped, if `to` (when given) names where it goes. */
async function resume(deps: ReembedDeps, source: Collection, job: Reembed, to: ReembedTarget | undefined): Promise<Reembed> {
  const target = await deps.store.byId(job.targetId);
  const space: SpaceRecord = await deps.spaces.get(target!.space);
  const same = !to || ('space' in to ? to.space === space.name : to.model === space.model.ref);
  if (!same) {
    throw new HearthError('REEMBED_RUNNING', `collection "${source.name}" is already being re-embedded into space "${space.name}"`, {
      details: { collection: source.name, space: space.name },
      hint: `hearth memory migrate ${source.name} resumes it; hearth memory migrate ${source.name} --abort abandons it`,
    });
  }
  return job;
}

/** The collection's name, then name-2, name-3…: the first that no space has. */
async function freeSpaceName(spaces: Spaces, name: string): Promise<string> {
  const taken = new Set((await spaces.list()).map((s) => s.name));
  for (let n = 2; ; n++) {
    const candidate = `${name}-${n}`;
    if (!taken.has(candidate)) return candidate;
  }
}

/** Embeds what the target lacks, batch after batch, until nothing is stale; returns the documents written. */
async function backfill(deps: ReembedDeps, job: Reembed, source: Collection, target: Collection, options: ReembedOptions): Promise<number> {
  let written = 0;
  for (;;) {
    throwIfAborted(options.signal);
    const stale = await deps.reembeds.pending(job, BACKFILL_DOCUMENTS);
    if (stale.length === 0) return written;
    const texts = await deps.reembeds.chunkTexts(source, stale.map((d) => d.docId));
    const writes = await deps.withLease(target, options.signal, async (lease) => {
      const budget = chunkBudget(lease.model);
      const countTokens = (s: string) => lease.model.countTokens(s);
      // The source's chunks are kept as they are where the new model takes them whole, and cut again where it does not.
      const docs = stale.map((d) => ({
        ...d,
        pieces: (texts.get(d.docId) ?? []).flatMap((text) => {
          const tokens = countTokens(text);
          return tokens <= budget ? [{ text, tokens }] : chunkText(text, { maxTokens: budget, overlapTokens: Math.min(32, Math.floor(budget / 8)), countTokens }).map((c) => ({ text: c.text, tokens: c.tokens }));
        }),
      }));
      const { vectors } = await lease.model.embed(docs.flatMap((d) => d.pieces.map((p) => p.text)), { truncate: false, signal: options.signal });
      let i = 0;
      return docs.map((d): DocumentWrite => ({ docId: d.docId, contentHash: d.contentHash, metadata: d.metadata, chunks: d.pieces.map((p) => ({ ...p, vector: vectors[i++]! })) }));
    });
    written += await deps.reembeds.backfill(job, target, writes);
    options.onProgress?.(await deps.reembeds.progress(job));
  }
}

/**
 * Compares neighbourhoods: for sampled chunks, the documents nearest to the
 * chunk's stored vector in the old space against those nearest to its text
 * embedded in the new one. The old model is not needed (it may be the very
 * thing that can no longer run here).
 */
async function evaluate(deps: ReembedDeps, source: Collection, target: Collection, signal: AbortSignal | undefined): Promise<ReembedEvaluation> {
  const table = chunkTable(source);
  const samples = await deps.engine.query<{ doc_id: string; chunk: number; text: string }>(`SELECT doc_id, chunk, text FROM ${table} ORDER BY md5(doc_id || ':' || chunk) LIMIT $1`, [EVALUATION_SAMPLES]);
  if (samples.length === 0) return { samples: 0, k: EVALUATION_K, meanOverlap: null, minOverlap: null };
  const { vectors } = await deps.withLease(target, signal, (lease) => lease.model.embed(samples.map((s) => s.text), { truncate: true, signal }));
  const overlaps: number[] = [];
  for (const [i, sample] of samples.entries()) {
    const before = await deps.engine.transaction(async (tx) => {
      if (source.indexState === 'hnsw') await tx.exec(efSearchSql(deps.efSearch));
      const rows = await tx.query<{ doc_id: string }>(`SELECT doc_id FROM ${table} ORDER BY embedding <=> (SELECT embedding FROM ${table} WHERE doc_id = $1 AND chunk = $2) LIMIT $3`, [sample.doc_id, sample.chunk, EVALUATION_K]);
      return new Set(rows.map((r) => r.doc_id));
    });
    const efSearch = target.indexState === 'hnsw' ? deps.efSearch : undefined;
    const after = new Set((await deps.store.search(target, vectors[i]!, { topK: EVALUATION_K, efSearch })).map((h) => h.docId));
    overlaps.push([...before].filter((d) => after.has(d)).length / before.size);
  }
  return { samples: samples.length, k: EVALUATION_K, meanOverlap: overlaps.reduce((a, b) => a + b, 0) / overlaps.length, minOverlap: Math.min(...overlaps) };
}

/** Abandons a running re-embed: its target collection is dropped; the collection never stopped answering from its space. */
export async function abortReembed(deps: Pick<ReembedDeps, 'store' | 'reembeds'>, name: string): Promise<void> {
  const source = await deps.store.get(name);
  const job = await deps.reembeds.running(source.id);
  if (!job) throw new HearthError('REEMBED_NOT_FOUND', `collection "${name}" is not being re-embedded`);
  await deps.reembeds.abort(job);
}

/** Drops the collections that swaps retired; returns what each was. */
export async function collectRetired(deps: Pick<ReembedDeps, 'store' | 'reembeds'>): Promise<Array<{ name: string; space: string; id: number }>> {
  const retired = await deps.reembeds.retired();
  for (const c of retired) await deps.store.drop(c);
  return retired.map((c) => ({ name: c.name, space: c.space, id: c.id }));
}
