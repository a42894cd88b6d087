import { join } from 'node:path';
import type { JobsIngestInput, JobsIngestResult } from '../children/jobs-ingest.js';
import type { RunContext } from '../context.js';
import { tamedEnv } from '../env.js';
import { REPO_ROOT } from '../paths.js';
import { runChild } from '../proc/child.js';
import { memorySizes } from './memory-sizes.js';

/** Seed of J2's documents (bench/texts.ts sentences). */
const DOCUMENT_SEED = 16_002;
const TIMEOUT_MS = 60 * 60_000;

/** J2, one repeat: a fresh PGlite home, in a child process with the CLI's tamed environment. */
export async function ingestFiles(ctx: RunContext): Promise<JobsIngestResult> {
  const sizes = memorySizes(ctx.options.quick);
  const home = await ctx.tempDir(`j2-${ctx.repeat}`);
  ctx.log(`  ingestion of ${sizes.documents} short files, between two runs of the embedding alone`);
  const input: JobsIngestInput = { target: { home }, model: await ctx.bertOnnx(), documents: sizes.documents, seed: DOCUMENT_SEED, batch: sizes.embedBatch, tuneBudget: ctx.profile.tuneBudget };
  return runChild<JobsIngestInput, JobsIngestResult>(join(REPO_ROOT, 'bench', 'children', 'jobs-ingest.ts'), input, { env: tamedEnv(), timeoutMs: TIMEOUT_MS });
}
