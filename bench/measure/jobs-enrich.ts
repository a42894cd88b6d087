import { join } from 'node:path';
import type { JobsEnrichInput, JobsEnrichResult } from '../children/jobs-enrich.js';
import type { RunContext } from '../context.js';
import { tamedEnv } from '../env.js';
import { hearthCommand } from '../hearth/hearth-server.js';
import { REPO_ROOT } from '../paths.js';
import { runChild } from '../proc/child.js';

const TIMEOUT_MS = 45 * 60_000;

/** J1, one repeat, in a child process with the CLI's tamed environment (its workers get the same). */
export async function enrichOnWorkers(ctx: RunContext): Promise<JobsEnrichResult> {
  const quick = ctx.options.quick;
  const input: JobsEnrichInput = {
    home: await ctx.tempDir(`j1-${ctx.repeat}`),
    model: await ctx.llama(),
    segments: quick ? 40 : 200,
    tasks: ['title', 'keywords'],
    chunkTokens: quick ? 96 : 128,
    workers: [1, 2],
    hearth: [process.execPath, ...hearthCommand(ctx.options.entry)],
    env: tamedEnv(),
    simulate: { costMs: 20, chunks: quick ? 64 : 400, workers: [1, 2, 4, 8] },
  };
  ctx.log(`  enrichment of ${input.segments} segments in-process, then on 1 and 2 hearth workers; then the queue alone with 1–8 simulated machines`);
  return runChild<JobsEnrichInput, JobsEnrichResult>(join(REPO_ROOT, 'bench', 'children', 'jobs-enrich.ts'), input, { env: tamedEnv(), timeoutMs: TIMEOUT_MS });
}
