import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Ajv } from 'ajv';
import { isHearthError } from '../../src/errors/index.js';
import type { ChunkOutput } from '../../src/jobs/enrich/enrich-chunk.js';
import { enrichProcessors, ENRICH_QUEUE, planEnrichment } from '../../src/jobs/enrich/enrich-queue.js';
import { chunkSchema, parseTasks } from '../../src/jobs/enrich/tasks.js';
import type { EnrichmentResult } from '../../src/jobs/enrich/aggregate.js';
import { BullmqExecutor } from '../../src/jobs/bullmq/bullmq-executor.js';
import { InProcessExecutor } from '../../src/jobs/in-process-executor.js';
import type { Chunk } from '../../src/jobs/transcript/chunker.js';
import { createPool } from '../../src/pool/create-pool.js';
import type { ModelPool } from '../../src/pool/model-pool.js';
import type { JobExecutor, JobStatus } from '../../src/jobs/executor.js';
import { silentLogger } from '../../src/log/logger.js';
import { writeLlamaFixture } from '../support/gguf-fixtures.js';
import { startRedis, type RedisServer } from '../support/redis.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';

const probe = await startRedis();
const redisSkip = 'unavailable' in probe ? probe.unavailable : false;
if (!('unavailable' in probe)) await probe.stop();

/**
 * Enrichment end to end on real models through the pool: a transcript cut
 * into chunks, every chunk's answer valid against its schema (checked with
 * ajv), merged in order and traced to its segments; the same input gives
 * the same result twice.
 */

const TRANSCRIPT = JSON.stringify(
  Array.from({ length: 24 }, (_, i) => ({ start: i * 2, end: i * 2 + 1.5, speaker: i % 2 ? 'Bob' : 'Alice', text: `Line ${i}: the little dog ran to the park and played with a red ball.` })),
);

async function finish(executor: JobExecutor, id: string): Promise<JobStatus> {
  let last: JobStatus | undefined;
  for await (const status of executor.watch(id)) last = status;
  return last!;
}

describe('enrichment', () => {
  let box: Sandbox;
  let pool: ModelPool;
  let executor: InProcessExecutor;
  let tiny: string;
  before(async () => {
    box = await createSandbox();
    tiny = join(box.root, 'tiny.gguf');
    await writeLlamaFixture(tiny, { seed: 3, context: 4096 });
    const config = box.config({ HEARTH_THREADS: '1' });
    pool = createPool({ config, store: box.store({ HEARTH_THREADS: '1' }), logger: silentLogger });
    executor = new InProcessExecutor({ dir: join(box.home, 'jobs'), concurrency: 2 });
    executor.register(ENRICH_QUEUE, enrichProcessors(pool));
  });
  after(async () => {
    await executor.dispose();
    await pool.dispose();
    await box.cleanup();
  });

  const run = async (model: string, tasks: string[], extra: Record<string, unknown> = {}) => {
    const { flow } = await planEnrichment(pool, { model, transcript: TRANSCRIPT, tasks, chunk_tokens: 64, ...extra });
    const status = await finish(executor, await executor.submit(flow));
    assert.equal(status.state, 'completed', JSON.stringify(status.error));
    return { flow, result: status.result as EnrichmentResult };
  };

  test('every task on a random-weight model: each chunk answer validates, and the merge traces every item to its segments', async () => {
    const tasks = ['clean', 'summary', 'keywords', 'title', 'chapters'];
    const { flow, result } = await run(tiny, tasks);
    const chunks = flow.children as Chunk[];
    assert.ok(chunks.length >= 3, `${chunks.length} chunks`);
    assert.equal(result.chunks, chunks.length);
    assert.equal(result.segments, 24);
    assert.deepEqual(result.clean!.map((s) => [s.index, s.start, s.speaker]), Array.from({ length: 24 }, (_, i) => [i, i * 2, i % 2 ? 'Bob' : 'Alice']));
    assert.deepEqual(result.summary!.parts.map((p) => p.segments), chunks.map((c) => c.segments));
    assert.equal(typeof result.summary!.text, 'string');
    assert.equal(typeof result.title!.text, 'string');
    for (const k of result.keywords!) assert.ok(k.at.length === k.count && k.count >= 1);
    for (const c of result.chapters!) assert.ok(c.segment >= 0 && c.segment < 24 && c.start === c.segment * 2);

    // The chunk answers themselves, against their schemas.
    const parsed = parseTasks(tasks);
    const ajv = new Ajv({ strict: false });
    for (const chunk of chunks) {
      const output = (await enrichProcessors(pool).child(flow.data, chunk, chunk.index, { signal: new AbortController().signal, attempt: 1 })) as ChunkOutput;
      assert.ok(ajv.validate(chunkSchema(parsed, chunk), output.output), `chunk ${chunk.index}: ${ajv.errorsText()}`);
    }
  });

  test('a custom prompt and schema; the same input gives the same result again', async () => {
    const custom = { prompt: 'rate how happy this part is', schema: { type: 'object', properties: { happy: { type: 'boolean' }, score: { type: 'integer', minimum: 1, maximum: 5 } }, required: ['happy', 'score'] } };
    const first = await run(tiny, ['custom'], { custom, seed: 4 });
    const second = await run(tiny, ['custom'], { custom, seed: 4 });
    assert.deepEqual(second.result, first.result);
    const ajv = new Ajv({ strict: false });
    for (const part of first.result.custom!) assert.ok(ajv.validate(custom.schema, part.output), ajv.errorsText());
  });

  test('BullMQ workers give the same result as the in-process executor', { skip: redisSkip }, async () => {
    const redis = (await startRedis()) as RedisServer;
    const bullmq = new BullmqExecutor({ url: redis.url, concurrency: 2, prefix: 'enrich-test' });
    try {
      bullmq.register(ENRICH_QUEUE, enrichProcessors(pool));
      const { flow } = await planEnrichment(pool, { model: tiny, transcript: TRANSCRIPT, tasks: ['summary', 'keywords', 'chapters'], chunk_tokens: 64 });
      const inProcess = await finish(executor, await executor.submit(flow));
      const onRedis = await finish(bullmq, await bullmq.submit(flow));
      assert.equal(onRedis.state, 'completed', JSON.stringify(onRedis.error));
      assert.deepEqual(onRedis.result, inProcess.result);
    } finally {
      await bullmq.dispose();
      await redis.stop();
    }
  });

  test('bad input is refused before anything is queued', async () => {
    await assert.rejects(planEnrichment(pool, { model: tiny, transcript: '[{"text":1}]', tasks: ['summary'] }), (e: unknown) => isHearthError(e, 'TRANSCRIPT_INVALID'));
    await assert.rejects(planEnrichment(pool, { model: tiny, transcript: 'hi', tasks: ['sumary'] }), (e: unknown) => isHearthError(e, 'USAGE') && /"sumary" is not a task/.test(e.message));
    await assert.rejects(planEnrichment(pool, { model: join(box.root, 'missing.gguf'), transcript: 'hi', tasks: ['summary'] }), (e: unknown) => isHearthError(e, 'MODEL_NOT_FOUND'));
    await assert.rejects(
      planEnrichment(pool, { model: tiny, transcript: 'hi', tasks: ['custom'], custom: { prompt: 'x', schema: { type: 'string', pattern: 'a+' } } }),
      (e: unknown) => isHearthError(e, 'USAGE') && /custom\.schema/.test(e.message),
    );
  });
});
