import { once } from 'node:events';
import { Command } from 'commander';
import { HearthError } from '../../errors/index.js';
import { createJobExecutor } from '../../jobs/create-executor.js';
import { enrichProcessors, ENRICH_QUEUE } from '../../jobs/enrich/enrich-queue.js';
import { ingestProcessors, INGEST_QUEUE } from '../../jobs/ingest/ingest-queue.js';
import { intOption, type CommandFactory } from '../command.js';

const QUEUES = [ENRICH_QUEUE, INGEST_QUEUE];

export const workerCommand: CommandFactory = (run) =>
  new Command('worker')
    .description('work on jobs queued on Redis (HEARTH_REDIS_URL) by any hearth server or CLI; models stay warm in this process\'s pool')
    .option('--queues <list>', `comma-separated queues to work on (${QUEUES.join(', ')})`, QUEUES.join(','))
    .option('--concurrency <n>', 'chunks worked on at once (default: HEARTH_JOBS_CONCURRENCY, else HEARTH_NUM_PARALLEL)')
    .action(
      run(async (ctx, options: { queues: string; concurrency?: string }) => {
        if (!ctx.config.jobs.redisUrl) {
          throw new HearthError('USAGE', 'a worker takes its jobs from Redis: set HEARTH_REDIS_URL (without it, jobs run in the process that queues them)');
        }
        const queues = options.queues.split(',').map((q) => q.trim()).filter(Boolean);
        for (const queue of queues) if (!QUEUES.includes(queue)) throw new HearthError('USAGE', `--queues: "${queue}" is not a queue (${QUEUES.join(', ')})`);
        const concurrency = intOption(options.concurrency, '--concurrency', 1) ?? ctx.config.jobs.concurrency;
        const pool = await ctx.pool();
        const executor = await createJobExecutor({ ...ctx.config, jobs: { ...ctx.config.jobs, concurrency } }, ctx.logger);
        // The memory database opens on the first ingestion: a worker that only enriches never holds it.
        for (const queue of queues) executor.register(queue, queue === INGEST_QUEUE ? ingestProcessors(() => ctx.memory()) : enrichProcessors(pool));
        // HEARTH_PRELOAD: models loaded, tuned and warm before the first chunk, as `hearth serve` has them.
        if (ctx.config.preload.length > 0) {
          await pool.preload(ctx.config.preload);
          for (const view of pool.list().filter((v) => v.state === 'failed')) ctx.stderr.write(`preload of ${view.name} failed: ${view.error ?? 'unknown error'}\n`);
        }
        ctx.stderr.write(`worker ready: queues ${queues.join(', ')}, concurrency ${concurrency ?? ctx.config.pool.numParallel}\n`);
        // SIGTERM: a chunk being worked on goes back to its queue for another worker; nothing is lost.
        await Promise.race([once(process, 'SIGTERM'), once(process, 'SIGINT')]);
        ctx.stderr.write('worker stopping: chunks in progress go back to their queue\n');
        await executor.dispose();
      }),
    );
