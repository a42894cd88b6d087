import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BullmqExecutor } from '../../src/jobs/bullmq/bullmq-executor.js';
import type { JobExecutor, JobStatus } from '../../src/jobs/executor.js';
import { InProcessExecutor } from '../../src/jobs/in-process-executor.js';
import { ingestProcessors, INGEST_QUEUE, planIngestion, type IngestResult } from '../../src/jobs/ingest/ingest-queue.js';
import { silentLogger } from '../../src/log/logger.js';
import { openPgliteEngine } from '../../src/memory/engine-pglite.js';
import type { SqlEngine } from '../../src/memory/engine.js';
import { createMemory, type Memory } from '../../src/memory/memory.js';
import { migrate } from '../../src/memory/migrations.js';
import { createPool } from '../../src/pool/create-pool.js';
import type { ModelPool } from '../../src/pool/model-pool.js';
import { createSpaces } from '../../src/spaces/index.js';
import { writeBertOnnxFixture } from '../support/bert-onnx-fixture.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';

const probe = await startRedis();
const redisSkip = 'unavailable' in probe ? probe.unavailable : false;
if (!('unavailable' in probe)) await probe.stop();

const finish = async (executor: JobExecutor, id: string): Promise<JobStatus> => {
  let last: JobStatus | undefined;
  for await (const status of executor.watch(id)) last = status;
  return last!;
};

/** Ingestion through the job seam: the same files give the same collection on either executor. */
describe('ingestion jobs', () => {
  let box: Sandbox;
  let engine: SqlEngine;
  let pool: ModelPool;
  let memory: Memory;
  let executor: InProcessExecutor;
  let docs: string;
  let model: string;
  let local: IngestResult | undefined;

  before(async () => {
    box = await createSandbox();
    model = join(box.root, 'enc');
    await writeBertOnnxFixture(model, { seed: 4 });
    docs = join(box.root, 'docs');
    await mkdir(docs);
    for (let i = 0; i < 20; i++) await writeFile(join(docs, `d${String(i).padStart(2, '0')}.txt`), `Document ${i} is about the ${['owl', 'ship', 'lamp', 'reef'][i % 4]} and ${i * 3} gulls.`);
    await writeFile(join(docs, 'broken.json'), '[');
    engine = await openPgliteEngine({ dataDir: join(box.root, 'memory'), durable: false, logger: silentLogger });
    await migrate(engine);
    pool = createPool({ config: box.config({ HEARTH_THREADS: '1' }), store: box.store(), logger: silentLogger });
    const spaces = createSpaces({ home: box.home, logger: silentLogger, acquire: (ref, options) => pool.acquire(ref, options) });
    memory = createMemory({ engine, spaces, logger: silentLogger });
    executor = new InProcessExecutor({ dir: join(box.root, 'jobs'), concurrency: 2 });
    executor.register(INGEST_QUEUE, ingestProcessors(async () => memory));
  });
  after(async () => {
    await executor?.dispose();
    await pool?.dispose();
    await engine?.close();
    await box?.cleanup();
  });

  const ingest = async (on: JobExecutor, collection: string) => {
    await memory.create(collection, { model });
    const { flow } = await planIngestion(memory, { collection, paths: [docs], validate: 6, batch_files: 3 }, { cwd: box.root });
    const status = await finish(on, await on.submit(flow));
    assert.equal(status.state, 'completed', JSON.stringify(status.error));
    return status.result as IngestResult;
  };

  test('in-process: every file once, the gate on the first units, the unreadable one a dead letter', async () => {
    const result = (local = await ingest(executor, 'local'));
    assert.deepEqual({ ...result, gate: null }, { collection: 'local', files: 21, documents: 20, added: 20, unchanged: 0, chunks: 20, deadLetters: 1, gate: null });
    assert.deepEqual(result.gate, { documents: 5, verdict: 'identical', invalidVectors: 0, selfTest: { samples: 5, found: 5, misses: [] } });
    assert.deepEqual((await memory.deadLetters('local')).map((d) => d.source), [join(docs, 'broken.json')]);
  });

  test('BullMQ gives the same result and the same collection: the same hits, at the same similarities', { skip: redisSkip }, async () => {
    const redis = (await startRedis()) as RedisServer;
    const bullmq = new BullmqExecutor({ url: redis.url, concurrency: 2, prefix: 'ingest-test' });
    try {
      bullmq.register(INGEST_QUEUE, ingestProcessors(async () => memory));
      const onRedis = await ingest(bullmq, 'redis');
      local ??= await ingest(executor, 'local');
      assert.deepEqual({ ...onRedis, collection: 'local' }, local);
      for (const text of ['the owl and gulls', 'Document 7 is about the ship']) {
        const hits = async (name: string) => (await memory.query(name, { text, topK: 5 })).map((h) => [h.docId, h.chunk, h.similarity.toFixed(6)]);
        assert.deepEqual(await hits('redis'), await hits('local'));
      }
    } finally {
      await bullmq.dispose();
      await redis.stop();
    }
  });
});
