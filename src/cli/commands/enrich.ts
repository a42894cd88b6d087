import { readFile, writeFile } from 'node:fs/promises';
import { Command } from 'commander';
import { HearthError } from '../../errors/index.js';
import { enrichProcessors, ENRICH_QUEUE, planEnrichment } from '../../jobs/enrich/enrich-queue.js';
import { createJobExecutor } from '../../jobs/create-executor.js';
import type { CommandFactory } from '../command.js';
import { interruptSignal, intOption } from '../command.js';
import { writeJson } from '../format.js';
import { createCountView } from '../progress.js';

interface EnrichOptions {
  model: string;
  tasks: string;
  format?: string;
  prompt?: string;
  schema?: string;
  chunkTokens?: string;
  overlap?: string;
  seed?: string;
  output?: string;
}

export const enrichCommand: CommandFactory = (run) =>
  new Command('enrich')
    .description('enrich a transcript with a local LLM, chunk by chunk (clean, summary, keywords, title, chapters, or a prompt and JSON schema of your own); prints one JSON result')
    .argument('<file>', 'a transcript: JSON segments ({start, end, speaker?, text}), SubRip (.srt), WebVTT (.vtt) or plain text; - reads stdin')
    .requiredOption('--model <model>', 'a generation model in the store')
    .option('--tasks <list>', 'comma-separated: clean, summary, keywords, title, chapters, custom', 'summary,keywords')
    .option('--format <format>', 'json, srt, vtt or text (default: sniffed from the content)')
    .option('--prompt <text>', 'the custom task\'s instruction (with --schema)')
    .option('--schema <file>', 'the JSON schema each chunk\'s custom answer follows')
    .option('--chunk-tokens <n>', "tokens a chunk owns, by the model's tokenizer (default: a quarter of its context, at most 1024)")
    .option('--overlap <n>', 'tokens of the chunk before shown again as context (default: a tenth of a chunk)')
    .option('--seed <n>', 'sampling seed')
    .option('-o, --output <file>', 'write the result here instead of stdout')
    .action(
      run(async (ctx, file: string, options: EnrichOptions) => {
        const interrupt = interruptSignal();
        const transcript = await readInput(file);
        const tasks = options.tasks.split(',');
        if ((options.prompt === undefined) !== (options.schema === undefined)) throw new HearthError('USAGE', '--prompt and --schema go together (the custom task)');
        const custom = options.schema !== undefined ? { prompt: options.prompt!, schema: parseJson(await readInput(options.schema), '--schema') } : undefined;
        if (custom && !tasks.includes('custom')) tasks.push('custom');
        const pool = await ctx.pool();
        const { flow, parallel } = await planEnrichment(
          pool,
          {
            model: options.model,
            transcript,
            format: options.format as 'json' | undefined,
            tasks,
            custom,
            chunk_tokens: intOption(options.chunkTokens, '--chunk-tokens'),
            overlap_tokens: intOption(options.overlap, '--overlap'),
            seed: intOption(options.seed, '--seed'),
          },
          interrupt.signal,
        );
        // On Redis, workers elsewhere help; this process works on its own job too.
        // In-process, it works on this job only: jobs a crashed run left behind are the server's to resume.
        const executor = await createJobExecutor({ ...ctx.config, jobs: { ...ctx.config.jobs, concurrency: ctx.config.jobs.concurrency ?? parallel } }, ctx.logger, { resume: false });
        const view = createCountView(ctx.stderr, 'enriching', 'chunks');
        try {
          executor.register(ENRICH_QUEUE, enrichProcessors(pool));
          const id = await executor.submit(flow);
          interrupt.signal.addEventListener('abort', () => void executor.cancel(id), { once: true });
          for await (const status of executor.watch(id)) {
            view.update(status.progress.done, status.progress.total);
            if (status.state === 'completed') {
              view.stop();
              if (options.output) await writeFile(options.output, `${JSON.stringify(status.result, null, 2)}\n`);
              else writeJson(ctx.stdout, status.result);
            } else if (status.state === 'failed') {
              throw new HearthError('JOB_FAILED', `the enrichment failed: ${status.error?.message ?? 'unknown error'}`, { details: { job: id, cause: status.error } });
            } else if (status.state === 'cancelled') {
              throw new HearthError('ABORTED', 'the enrichment was interrupted');
            }
          }
        } finally {
          view.stop();
          interrupt.dispose();
          await executor.dispose();
        }
      }),
    );

async function readInput(file: string): Promise<string> {
  try {
    if (file === '-') {
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    }
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new HearthError('USAGE', `cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
}

function parseJson(text: string, field: string): Record<string, unknown> {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new HearthError('USAGE', `${field}: not JSON: ${(error as Error).message}`, { cause: error });
  }
}
