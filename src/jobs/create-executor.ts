import { join } from 'node:path';
import type { Config } from '../config/index.js';
import type { Logger } from '../log/logger.js';
import type { JobExecutor } from './executor.js';
import { InProcessExecutor } from './in-process-executor.js';

/**
 * The executor the configuration asks for: BullMQ on Redis when
 * HEARTH_REDIS_URL is set (checked first: a Redis that may evict keys is
 * refused), else jobs in this process, kept in `$HEARTH_HOME/jobs`.
 */
export async function createJobExecutor(config: Readonly<Config>, logger: Logger, options: { resume?: boolean } = {}): Promise<JobExecutor> {
  const concurrency = config.jobs.concurrency ?? config.pool.numParallel;
  if (!config.jobs.redisUrl) return new InProcessExecutor({ dir: join(config.home, 'jobs'), concurrency, logger, resume: options.resume });
  // Loaded only for Redis: an embedded install never pays for BullMQ's import.
  const [{ assertRedisReady }, { BullmqExecutor }] = await Promise.all([import('./bullmq/redis.js'), import('./bullmq/bullmq-executor.js')]);
  await assertRedisReady(config.jobs.redisUrl);
  return new BullmqExecutor({ url: config.jobs.redisUrl, concurrency, logger });
}
