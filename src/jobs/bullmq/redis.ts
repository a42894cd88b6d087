import { Redis, type RedisOptions } from 'ioredis';
import { redactUrl } from '../../config/redact-url.js';
import { HearthError } from '../../errors/index.js';

/** BullMQ's workers block on Redis; ioredis must retry their commands for ever rather than fail them. */
const OPTIONS: RedisOptions = { maxRetriesPerRequest: null, enableReadyCheck: true };

/** A new connection to `url` (each BullMQ worker and event listener needs its own blocking one). */
export function connect(url: string): Redis {
  return new Redis(url, OPTIONS);
}

/**
 * Refuses a Redis that may evict keys: under memory pressure it would drop
 * queued jobs and their results without an error (BullMQ's own rule).
 */
export async function assertRedisReady(url: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true, retryStrategy: () => null });
  try {
    await redis.connect().catch((error: unknown) => {
      throw new HearthError('QUEUE_UNAVAILABLE', `cannot reach Redis at ${redactUrl(url)}: ${(error as Error).message}`, { cause: error, hint: 'start redis-server, or unset HEARTH_REDIS_URL to run jobs in this process' });
    });
    const [, policy] = (await redis.config('GET', 'maxmemory-policy')) as [string, string];
    if (policy !== 'noeviction') {
      throw new HearthError('CONFIG_INVALID', `Redis at ${redactUrl(url)} has maxmemory-policy ${policy}: it may evict queued jobs; hearth needs noeviction`, {
        hint: 'set maxmemory-policy noeviction in redis.conf, or run CONFIG SET maxmemory-policy noeviction',
      });
    }
  } finally {
    redis.disconnect();
  }
}
