import { Command } from 'commander';
import { HearthError } from '../../errors/index.js';
import { createJobExecutor } from '../../jobs/create-executor.js';
import { ingestProcessors, INGEST_QUEUE, planIngestion, type IngestRequest } from '../../jobs/ingest/ingest-queue.js';
import type { CommandFactory } from '../command.js';
import { interruptSignal, intOption } from '../command.js';
import { writeJson } from '../format.js';
import { createIngestView } from '../progress.js';

interface IngestOptions {
  collection: string;
  model?: string;
  validate: string;
  samples: string;
  batch: string;
  retryDead?: boolean;
  deadLetters?: boolean;
}

export const ingestCommand: CommandFactory = (run) =>
  new Command('ingest')
    .description(
      'ingest files into a collection: found in folders and globs, read (txt, md, html, json, jsonl, pdf), chunked, embedded in batches and written; idempotent and resumable (run it again after a crash), validated on the first documents before the rest; prints one JSON summary',
    )
    .argument('[paths...]', 'files, folders and globs ("docs/**/*.md", quoted so the shell leaves it)')
    .requiredOption('-c, --collection <name>', 'the collection to write to')
    .option('--model <model>', 'create the collection from this embedding model when it does not exist')
    .option('--validate <n>', 'documents ingested and checked (space check, retrieval self-test) before the rest; 0 skips the gate', '1000')
    .option('--samples <n>', 'chunks the self-test queries', '20')
    .option('--batch <files>', 'files per unit of work', '64')
    .option('--retry-dead', "read again the collection's dead letters (with any paths given)")
    .option('--dead-letters', "list the collection's dead letters (sources that could not be read, and why) and exit")
    .action(
      run(async (ctx, paths: string[], options: IngestOptions) => {
        const memory = await ctx.memory();
        if (options.deadLetters) {
          writeJson(ctx.stdout, await memory.deadLetters(options.collection));
          return;
        }
        const interrupt = interruptSignal();
        try {
          if (options.model && !(await memory.list()).some((c) => c.name === options.collection)) {
            await memory.create(options.collection, { model: options.model }, interrupt.signal);
            ctx.stderr.write(`created collection ${options.collection} from ${options.model}\n`);
          }
          const request: IngestRequest = {
            collection: options.collection,
            paths,
            retry_dead: options.retryDead ?? false,
            validate: intOption(options.validate, '--validate', 0),
            self_test_samples: intOption(options.samples, '--samples', 0),
            batch_files: intOption(options.batch, '--batch', 0),
          };
          const { flow, files } = await planIngestion(memory, request, { cwd: process.cwd() });
          // In-process, this run works on its own job only: one a crashed run left is redone by running the
          // command again, which skips every document already stored.
          const executor = await createJobExecutor(ctx.config, ctx.logger, { resume: false });
          let chunks = 0;
          const view = createIngestView(ctx.stderr);
          try {
            executor.register(INGEST_QUEUE, ingestProcessors(async () => memory, (_c, outcome) => (chunks += outcome.chunks)));
            const id = await executor.submit(flow);
            interrupt.signal.addEventListener('abort', () => void executor.cancel(id), { once: true });
            for await (const status of executor.watch(id)) {
              view.update({ files: Math.min(files, status.progress.done * request.batch_files!), totalFiles: files, chunks });
              if (status.state === 'completed') {
                view.stop();
                writeJson(ctx.stdout, status.result);
              } else if (status.state === 'failed') {
                view.stop();
                // The gate's report (or the failing unit's details) is the output: what to look at before running again.
                if (status.error?.details) writeJson(ctx.stdout, status.error.details);
                const gate = status.error?.code === 'INGEST_GATE_FAILED';
                throw new HearthError(gate ? 'INGEST_GATE_FAILED' : 'JOB_FAILED', `the ingestion failed: ${status.error?.message ?? 'unknown error'}`, {
                  details: { job: id, cause: status.error },
                  hint: gate
                    ? 'the report above says what failed; fix the model or the data (the first documents are stored: hearth memory rm), or skip the gate with --validate 0'
                    : 'run the same command again to go on: documents already stored are skipped',
                });
              } else if (status.state === 'cancelled') {
                throw new HearthError('ABORTED', 'the ingestion was interrupted; run the same command again to go on');
              }
            }
          } finally {
            view.stop();
            await executor.dispose();
          }
        } finally {
          interrupt.dispose();
        }
      }),
    );
