import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { BullmqExecutor } from '../../src/jobs/bullmq/bullmq-executor.js';
import type { EnrichmentResult } from '../../src/jobs/enrich/aggregate.js';
import { planEnrichment } from '../../src/jobs/enrich/enrich-queue.js';
import type { JobStatus } from '../../src/jobs/executor.js';
import type { Chunk } from '../../src/jobs/transcript/chunker.js';
import { silentLogger } from '../../src/log/logger.js';
import { createPool } from '../../src/pool/create-pool.js';
import type { ModelPool } from '../../src/pool/model-pool.js';
import { writeLlamaFixture } from '../support/gguf-fixtures.js';
import { killStrays, runHearth, spawnHearth, type HearthProcess } from '../support/hearth-cli.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';
import { waitForOutput } from '../support/wait.js';

const probe = await startRedis();
const skip = 'unavailable' in probe ? probe.unavailable : false;

const TRANSCRIPT = JSON.stringify(Array.from({ length: 48 }, (_, i) => ({ start: i, end: i + 0.9, text: `Part ${i}: the ship left the harbour at dawn with its crew.` })));

/**
 * `hearth worker` processes on a real Redis: they take the jobs a producer
 * queues, a worker killed with -9 mid-job is replaced by another and the
 * result still has every chunk once, in order; SIGTERM stops one cleanly.
 */
describe('hearth worker', { skip }, () => {
  const redis = probe as RedisServer;
  let box: Sandbox;
  let env: Record<string, string>;
  let model: string;
  let pool: ModelPool;
  let producer: BullmqExecutor;
  const workers: HearthProcess[] = [];
  const startWorker = async () => {
    const worker = spawnHearth(['worker', '--concurrency', '1'], env);
    workers.push(worker);
    await waitForOutput(worker, /worker ready: queues enrich, ingest, concurrency 1/);
    return worker;
  };
  const finish = async (id: string) => {
    let last: JobStatus | undefined;
    for await (const status of producer.watch(id)) last = status;
    return last!;
  };
  before(async () => {
    box = await createSandbox();
    model = join(box.root, 'tiny.gguf');
    await writeLlamaFixture(model, { seed: 8, context: 4096 });
    env = box.env({ HEARTH_THREADS: '1', HEARTH_REDIS_URL: redis.url });
    pool = createPool({ config: box.config({ HEARTH_THREADS: '1' }), store: box.store(), logger: silentLogger });
    // The producer registers no processors: only the worker processes work.
    producer = new BullmqExecutor({ url: redis.url, concurrency: 1 });
  });
  after(async () => {
    killStrays();
    await producer?.dispose();
    await pool?.dispose();
    await redis.stop();
    await box?.cleanup();
  });

  test('a worker takes a queued enrichment; killed with -9 mid-job, another finishes it with every chunk once, in order', async () => {
    const first = await startWorker();
    const { flow } = await planEnrichment(pool, { model, transcript: TRANSCRIPT, tasks: ['summary'], chunk_tokens: 24 });
    const done = await finish(await producer.submit(flow));
    assert.equal(done.state, 'completed', JSON.stringify(done.error));

    const id = await producer.submit(flow);
    // Killed mid-job: after its first chunk, with chunks still to do (else the failover is not exercised).
    let atKill: JobStatus | undefined;
    for await (const status of producer.watch(id)) {
      atKill = status;
      if (status.progress.done >= 1) break;
    }
    first.kill('SIGKILL');
    assert.ok(atKill!.progress.done < atKill!.progress.total - 1, `the job was mid-way when its worker died: ${JSON.stringify(atKill!.progress)}`);
    await first.result;
    await startWorker();
    const last = await finish(id);
    assert.equal(last.state, 'completed', JSON.stringify(last.error));
    const chunks = flow.children as Chunk[];
    assert.deepEqual((last.result as EnrichmentResult).summary!.parts.map((p) => p.segments), chunks.map((c) => c.segments), 'every chunk once, in order');
  });

  test('SIGTERM stops a worker cleanly', async () => {
    const worker = workers.at(-1)!;
    worker.kill('SIGTERM');
    const result = await worker.result;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /worker stopping/);
  });

  test('without Redis, or with a Redis that may evict keys, a worker refuses to start', async () => {
    const none = await runHearth(['worker'], box.env({ HEARTH_THREADS: '1' }));
    assert.equal(none.code, 64, none.stderr);
    assert.match(none.stderr, /set HEARTH_REDIS_URL/);
    const admin = new Redis(redis.url);
    try {
      await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
      const evicting = await runHearth(['worker'], env);
      assert.equal(evicting.code, 78, evicting.stderr);
      assert.match(evicting.stderr, /maxmemory-policy allkeys-lru.*noeviction/);
    } finally {
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      admin.disconnect();
    }
    const unreachable = await runHearth(['worker'], box.env({ HEARTH_THREADS: '1', HEARTH_REDIS_URL: 'redis://127.0.0.1:1' }));
    assert.equal(unreachable.code, 69, unreachable.stderr);
    assert.match(unreachable.stderr, /QUEUE_UNAVAILABLE/);
  });
});
