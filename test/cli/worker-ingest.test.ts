import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BullmqExecutor } from '../../src/jobs/bullmq/bullmq-executor.js';
import type { JobStatus } from '../../src/jobs/executor.js';
import { planIngestion, type IngestResult } from '../../src/jobs/ingest/ingest-queue.js';
import { silentLogger } from '../../src/log/logger.js';
import type { SqlEngine } from '../../src/memory/engine.js';
import { createMemory, type Memory } from '../../src/memory/memory.js';
import { openMemoryEngine } from '../../src/memory/open-engine.js';
import { createPool } from '../../src/pool/create-pool.js';
import type { ModelPool } from '../../src/pool/model-pool.js';
import { createSpaces } from '../../src/spaces/index.js';
import { writeBertOnnxFixture } from '../support/bert-onnx-fixture.js';
import { killStrays, spawnHearth } from '../support/hearth-cli.js';
import { startPostgres, type PostgresServer } from '../support/postgres.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';
import { waitForOutput } from '../support/wait.js';

const redisProbe = await startRedis();
const postgresProbe = await startPostgres();
const skip = 'unavailable' in redisProbe ? redisProbe.unavailable : 'unavailable' in postgresProbe ? postgresProbe.unavailable : false;

/**
 * Ingestion scaled out: two `hearth worker --queues ingest` processes on a
 * real Redis take a job queued by a producer that works on nothing itself,
 * and write into one Postgres with pgvector (the embedded database is one
 * process's); the gate passes, every readable file is stored once, and the
 * unreadable one is a dead letter that every process sees.
 */
describe('hearth worker: ingestion on Redis and Postgres', { skip }, () => {
  const redis = redisProbe as RedisServer;
  const postgres = postgresProbe as PostgresServer;
  let box: Sandbox;
  let env: Record<string, string>;
  let pool: ModelPool;
  let engine: SqlEngine;
  let memory: Memory;
  let producer: BullmqExecutor;
  let docs: string;

  before(async () => {
    box = await createSandbox();
    const model = join(box.root, 'enc');
    await writeBertOnnxFixture(model, { seed: 4 });
    docs = join(box.root, 'docs');
    await mkdir(docs);
    for (let i = 0; i < 24; i++) await writeFile(join(docs, `d${String(i).padStart(2, '0')}.md`), `# Note ${i}\n\nThe ${['owl', 'ship', 'lamp', 'reef'][i % 4]} and ${i * 3} gulls.`);
    await writeFile(join(docs, 'broken.jsonl'), '{"text":"fine"}\n{oops\n');
    const vars = { HEARTH_THREADS: '1', HEARTH_REDIS_URL: redis.url, HEARTH_DATABASE_URL: postgres.url };
    env = box.env(vars);
    const config = box.config(vars);
    pool = createPool({ config, store: box.store(vars), logger: silentLogger });
    const spaces = createSpaces({ home: config.home, logger: silentLogger, acquire: (ref, options) => pool.acquire(ref, options) });
    engine = await openMemoryEngine(config, silentLogger);
    memory = createMemory({ engine, spaces, logger: silentLogger });
    await memory.create('kb', { model });
    // The producer registers no processors: only the worker processes work.
    producer = new BullmqExecutor({ url: redis.url, concurrency: 1 });
  });
  after(async () => {
    killStrays();
    await producer?.dispose();
    await engine?.close();
    await pool?.dispose();
    await redis.stop();
    await postgres.stop();
    await box?.cleanup();
  });

  test('two workers ingest a folder queued elsewhere: the gate, every file once, the dead letter', async () => {
    for (let i = 0; i < 2; i++) await waitForOutput(spawnHearth(['worker', '--queues', 'ingest', '--concurrency', '1'], env), /worker ready: queues ingest, concurrency 1/);
    const { flow } = await planIngestion(memory, { collection: 'kb', paths: [docs], validate: 8, batch_files: 3 }, { cwd: box.root });
    let last: JobStatus | undefined;
    for await (const status of producer.watch(await producer.submit(flow))) last = status;
    assert.equal(last?.state, 'completed', JSON.stringify(last?.error));
    const result = last!.result as IngestResult;
    assert.deepEqual({ ...result, gate: null }, { collection: 'kb', files: 25, documents: 24, added: 24, unchanged: 0, chunks: 24, deadLetters: 1, gate: null });
    assert.deepEqual([result.gate?.documents, result.gate?.selfTest.found, result.gate?.selfTest.samples], [8, 8, 8], 'the gate: broken.jsonl is dead, then d00–d07');
    const dead = await memory.deadLetters('kb');
    assert.deepEqual(dead.map((d) => d.source), [join(docs, 'broken.jsonl')]);
    assert.match(dead[0]!.reason, /^line 2 is not JSON/);
    const stats = await memory.stats('kb');
    assert.deepEqual([stats.documents, stats.chunks], [24, 24]);
  });
});
