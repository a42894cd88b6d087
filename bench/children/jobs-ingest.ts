import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobStatus } from '../../src/jobs/executor.js';
import { InProcessExecutor } from '../../src/jobs/in-process-executor.js';
import { ingestProcessors, INGEST_QUEUE, planIngestion, type IngestResult } from '../../src/jobs/ingest/ingest-queue.js';
import { MEMORY_TEXT_WORDS } from '../measure/memory-sizes.js';
import { benchTexts } from '../texts.js';
import { childMain } from './child-io.js';
import { embedAlone, openMemoryWithModels, type MemoryTarget } from './memory-common.js';

/**
 * J2, end to end: `hearth ingest`'s path (files found in a folder, read,
 * chunked, embedded in batches and written, through the in-process job
 * executor, with the validation gate on the first 1,000 documents and its
 * self-test) on short text files, against the embedding alone of the same
 * texts in batches of 64 through a guarded lease of the same pool, timed
 * before and after the run (their mean is the baseline).
 */
export interface JobsIngestInput {
  target: MemoryTarget;
  model: string;
  documents: number;
  seed: number;
  batch: number;
  tuneBudget: string;
}

export interface JobsIngestResult {
  documents: number;
  ingestMs: number;
  embedBeforeMs: number;
  embedAfterMs: number;
  result: IngestResult;
}

childMain<JobsIngestInput, JobsIngestResult>(async (input) => {
  const { config, memory, spaces, close } = await openMemoryWithModels(input.target, { HEARTH_TUNE_BUDGET: input.tuneBudget });
  const texts = benchTexts({ count: input.documents, words: MEMORY_TEXT_WORDS, seed: input.seed });
  const folder = join(input.target.home, 'docs');
  await mkdir(folder, { recursive: true });
  await Promise.all(texts.map((text, i) => writeFile(join(folder, `d${String(i).padStart(6, '0')}.txt`), text)));
  const executor = new InProcessExecutor({ dir: join(config.home, 'jobs'), concurrency: config.jobs.concurrency ?? config.pool.numParallel, resume: false });
  try {
    // The model is loaded and tuned (the space's probes) before anything is timed.
    await memory.create('j2', { model: input.model });
    executor.register(INGEST_QUEUE, ingestProcessors(async () => memory));
    const before = await embedAlone(spaces, 'j2', texts, input.batch);
    const started = performance.now();
    const { flow } = await planIngestion(memory, { collection: 'j2', paths: [folder] }, { cwd: folder });
    let last: JobStatus | undefined;
    for await (const status of executor.watch(await executor.submit(flow))) last = status;
    const ingestMs = performance.now() - started;
    const after = await embedAlone(spaces, 'j2', texts, input.batch);
    if (last?.state !== 'completed') throw new Error(`the ingestion ${last?.state}: ${last?.error?.message}`);
    const result = last.result as IngestResult;
    if (result.added !== input.documents) throw new Error(`ingested ${result.added} documents of ${input.documents}`);
    return { documents: input.documents, ingestMs, embedBeforeMs: before.ms, embedAfterMs: after.ms, result };
  } finally {
    await executor.dispose();
    await close();
  }
});
