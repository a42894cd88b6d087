import { randomUUID } from 'node:crypto';
import { BullmqExecutor } from '../../src/jobs/bullmq/bullmq-executor.js';
import { executorConformance } from '../support/executor-conformance.js';
import { startRedis, type RedisServer } from '../support/redis.js';

const redis = await startRedis();
const skip = 'unavailable' in redis ? redis.unavailable : false;

executorConformance(
  'BullMQ',
  () => {
    // Each run gets its own key prefix; both executors of the resumption test share it.
    const prefix = `test-${randomUUID().slice(0, 8)}`;
    return {
      open: async () => new BullmqExecutor({ url: (redis as RedisServer).url, concurrency: 2, prefix }),
      cleanup: async () => (redis as RedisServer).stop(),
    };
  },
  skip,
);
