import { z } from 'zod';
import { HearthError, parseInput, toHearthError } from '../../errors/index.js';
import type { DocumentInput, Memory } from '../../memory/memory.js';
import type { SelfTestReport } from '../../memory/self-test.js';
import type { FlowSpec, JobProcessors } from '../executor.js';
import { discoverFiles, type DiscoverOptions } from './discover.js';
import { readSource } from './read-source.js';

export const INGEST_QUEUE = 'ingest';

/** An ingestion as a client asks for it (HTTP and CLI alike). */
export const ingestRequest = z.object({
  collection: z.string().min(1),
  /** Files, folders and globs; with `retry_dead` alone, the collection's dead letters. */
  paths: z.array(z.string().min(1)).default([]),
  /** Read again the sources that are dead letters now. */
  retry_dead: z.boolean().default(false),
  /** Documents ingested and checked before the rest; 0 skips the gate. */
  validate: z.number().int().min(0).default(1000),
  /** Chunks of the first documents the self-test queries. */
  self_test_samples: z.number().int().min(1).max(1000).default(20),
  /** Files per unit of work (a child job). */
  batch_files: z.number().int().min(1).max(10_000).default(64),
});
export type IngestRequest = z.input<typeof ingestRequest>;

interface IngestJobData {
  collection: string;
  /** Children before this index carry their documents' ids, for the self-test. */
  gateChildren: number;
  samples: number;
}

/** What one unit of work did. */
export interface BatchOutcome {
  files: number;
  documents: number;
  added: number;
  unchanged: number;
  chunks: number;
  dead: number;
  /** For the gate's self-test (the first children only). */
  docIds?: string[] | undefined;
}

export interface GateReport {
  documents: number;
  verdict: string;
  invalidVectors: number;
  selfTest: SelfTestReport;
}

export interface IngestResult {
  collection: string;
  files: number;
  documents: number;
  added: number;
  unchanged: number;
  chunks: number;
  deadLetters: number;
  gate: GateReport | null;
}

/** Told of every unit of work done (the server's /metrics, the CLI's progress bar). */
export type IngestObserver = (collection: string, outcome: BatchOutcome) => void;

/**
 * An ingestion as a job: the collection checked and the files found before
 * anything is queued (a typo or an unknown collection is an error now), and
 * the files cut into units of work. With a gate, the first `validate`
 * files' units run first, then the gate (the space check, and the retrieval
 * self-test on their chunks), then the rest.
 */
export async function planIngestion(memory: Memory, input: IngestRequest, where: DiscoverOptions): Promise<{ flow: FlowSpec; files: number }> {
  const request = parseInput(ingestRequest, input);
  await memory.get(request.collection);
  const paths = [...request.paths];
  if (request.retry_dead) paths.push(...(await memory.deadLetters(request.collection)).map((d) => d.source));
  if (paths.length === 0) {
    throw new HearthError('USAGE', request.retry_dead ? `collection "${request.collection}" has no dead letters to retry` : 'nothing to ingest: give files, folders or globs');
  }
  const files = await discoverFiles(paths, where);
  const children: Array<{ files: string[] }> = [];
  for (let start = 0; start < files.length; start += request.batch_files) children.push({ files: files.slice(start, start + request.batch_files) });
  // A retry of dead letters alone is a repair, not a mass ingestion: nothing to validate first.
  const repair = request.retry_dead && request.paths.length === 0;
  const gate = request.validate === 0 || repair ? 0 : Math.ceil(Math.min(request.validate, files.length) / request.batch_files);
  const data: IngestJobData = { collection: request.collection, gateChildren: gate, samples: request.self_test_samples };
  return { flow: { queue: INGEST_QUEUE, data, children, gate }, files: files.length };
}

/**
 * What an ingestion's units, gate and aggregate do, on whichever executor
 * runs them. A unit's effect is idempotent, as at-least-once delivery needs:
 * a document is keyed by its path (and record), and one whose text is
 * already stored under that key embeds nothing. So a run killed with -9 and
 * run again writes no duplicate and loses nothing.
 */
export function ingestProcessors(memory: () => Promise<Memory>, observe?: IngestObserver): JobProcessors {
  return {
    async child(data, child, index, ctx) {
      const d = data as IngestJobData;
      const { files } = child as { files: string[] };
      const documents: DocumentInput[] = [];
      const failed: Array<{ source: string; code: string; reason: string }> = [];
      const read: string[] = [];
      for (const file of files) {
        ctx.signal.throwIfAborted();
        try {
          documents.push(...(await readSource(file)));
          read.push(file);
        } catch (error) {
          const e = toHearthError(error);
          if (e.code !== 'SOURCE_UNREADABLE') throw e;
          failed.push({ source: file, code: e.code, reason: typeof e.details.reason === 'string' ? e.details.reason : e.message });
        }
      }
      const m = await memory();
      const report = documents.length > 0 ? await m.add(d.collection, documents, ctx.signal) : { added: 0, unchanged: 0, chunks: 0 };
      await m.settleSources(d.collection, { failed, read });
      const outcome: BatchOutcome = { files: files.length, documents: documents.length, ...report, dead: failed.length };
      observe?.(d.collection, outcome);
      return index < d.gateChildren ? { ...outcome, docIds: documents.map((doc) => doc.id!) } : outcome;
    },

    async gate(data, results, ctx) {
      const d = data as IngestJobData;
      const docIds = (results as BatchOutcome[]).flatMap((r) => r.docIds ?? []);
      const files = (results as BatchOutcome[]).reduce((n, r) => n + r.files, 0);
      if (docIds.length === 0) {
        throw new HearthError('INGEST_GATE_FAILED', `none of the first ${files} files could be read: see the dead letters (hearth ingest --dead-letters --collection ${d.collection})`, {
          details: { collection: d.collection, files },
        });
      }
      const m = await memory();
      const stats = await m.stats(d.collection, ctx.signal);
      const selfTest = await m.selfTest(d.collection, { docIds, samples: d.samples, signal: ctx.signal });
      const report: GateReport = { documents: docIds.length, verdict: stats.verdict, invalidVectors: stats.invalidVectors, selfTest };
      const problems = [
        ...(stats.verdict === 'incompatible' ? [`the space check says ${stats.verdict}`] : []),
        ...(stats.invalidVectors > 0 ? [`${stats.invalidVectors} stored vectors are invalid`] : []),
        ...(selfTest.found < selfTest.samples ? [`${selfTest.samples - selfTest.found} of ${selfTest.samples} sampled chunks did not find themselves first`] : []),
      ];
      if (problems.length > 0) {
        throw new HearthError('INGEST_GATE_FAILED', `validation on the first ${docIds.length} documents failed, so nothing more was ingested: ${problems.join('; ')}`, {
          details: { collection: d.collection, ...report },
        });
      }
      return report;
    },

    async parent(data, results, ctx) {
      const d = data as IngestJobData;
      const sum = (key: keyof BatchOutcome) => (results as BatchOutcome[]).reduce((n, r) => n + (r[key] as number), 0);
      const result: IngestResult = {
        collection: d.collection,
        files: sum('files'),
        documents: sum('documents'),
        added: sum('added'),
        unchanged: sum('unchanged'),
        chunks: sum('chunks'),
        deadLetters: sum('dead'),
        gate: (ctx.gate as GateReport | undefined) ?? null,
      };
      return result;
    },
  };
}
