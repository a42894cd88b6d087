import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { isHearthError } from '../../src/errors/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { ModelPool, type PoolConfig } from '../../src/pool/model-pool.js';
import type { ModelState } from '../../src/pool/pool-entry.js';
import { Tuner } from '../../src/pool/tuner.js';
import { ENGINE_FORMATS } from '../../src/runtime/engine-formats.js';
import { lazyBackend } from '../../src/runtime/lazy-backend.js';
import { LlamaBackend } from '../../src/runtime/llama/llama-backend.js';
import { CountingBackend } from '../support/counting-backend.js';
import { ManualClock } from '../support/manual-clock.js';
import { withoutListenerPileUp } from '../support/assertions.js';
import { poolBed, waitingForRoom } from '../support/pool-bed.js';

describe('model pool', () => {
  const bed = poolBed();

  function makePool(config: Partial<PoolConfig> = {}, extra: { clock?: ManualClock; tuner?: Tuner } = {}) {
    const backend = new CountingBackend(new LlamaBackend({ device: 'cpu', logger: silentLogger }));
    return { pool: bed.pool(config, { ...extra, backends: [backend] }), backend };
  }

  const loaded = (pool: ModelPool) => pool.list().filter((v) => v.loaded).map((v) => v.name).sort();

  test('20 concurrent first requests cause one load', async () => {
    const { pool, backend } = makePool();
    // ...and no listener per request piles up on the pool's or the store's signals.
    const leases = await withoutListenerPileUp(() => Promise.all(Array.from({ length: 20 }, () => pool.acquire(bed.fixtures.bert))));
    assert.equal(backend.loads.length, 1);
    assert.equal(new Set(leases.map((l) => l.model)).size, 1);
    assert.equal(pool.list()[0]!.inFlight, 20);
    for (const lease of leases) lease.release();
    assert.equal(pool.list()[0]!.inFlight, 0);
  });

  test('evicts the least recently used idle model when the count limit is reached', async () => {
    const { pool, backend } = makePool({ maxLoaded: 2 });
    await pool.use(bed.fixtures.bert, {}, async () => undefined);
    await pool.use(bed.fixtures.llama, {}, async () => undefined);
    await pool.use(bed.fixtures.bert, {}, async () => undefined); // bert is now the most recent
    await pool.use(bed.fixtures.bertCls, {}, async () => undefined);
    assert.deepEqual(loaded(pool), [bed.fixtures.bert, bed.fixtures.bertCls].sort());
    assert.deepEqual(backend.disposedModels, [bed.fixtures.llama]);
  });

  test('never evicts a model with requests in flight; a load waits for it to go idle', async () => {
    const { pool, backend } = makePool({ maxLoaded: 1 });
    const busy = await pool.acquire(bed.fixtures.bert);
    let second = false;
    // The load has looked for room, found only the busy model, and waits.
    const blocked = waitingForRoom(pool, 'tiny-llama.gguf');
    const waiting = pool.acquire(bed.fixtures.llama).then((lease) => {
      second = true;
      return lease;
    });
    await blocked;
    assert.equal(second, false, 'the busy model is not evicted');
    assert.deepEqual(backend.disposedModels, [], 'nothing was unloaded to make room');
    assert.deepEqual(loaded(pool), [bed.fixtures.bert]);
    busy.release();
    (await waiting).release();
    assert.deepEqual(loaded(pool), [bed.fixtures.llama]);
  });

  test('a load that cannot be placed fails with POOL_FULL: at once behind pinned models, after the load wait behind busy ones', async () => {
    const pinned = makePool({ maxLoaded: 1 }).pool;
    (await pinned.acquire(bed.fixtures.bert, { pin: true })).release();
    await assert.rejects(pinned.acquire(bed.fixtures.llama), (e: unknown) => isHearthError(e, 'POOL_FULL') && /preload/.test(e.message));
    assert.deepEqual(loaded(pinned), [bed.fixtures.bert], 'the pinned model stays');
    const refused = pinned.list().find((v) => v.ref === bed.fixtures.llama);
    assert.notEqual(refused?.state, 'failed', 'nothing is wrong with the refused model');

    const clock = new ManualClock();
    const busyPool = makePool({ maxLoaded: 1, loadWaitMs: 30_000 }, { clock }).pool;
    const busy = await busyPool.acquire(bed.fixtures.bert);
    const blocked = waitingForRoom(busyPool, 'tiny-llama.gguf');
    const waiting = busyPool.acquire(bed.fixtures.llama);
    await blocked;
    clock.advance(30_000);
    await assert.rejects(waiting, (e: unknown) => isHearthError(e, 'POOL_FULL') && /busy/.test(e.message));
    assert.deepEqual(loaded(busyPool), [bed.fixtures.bert]);
    assert.notEqual(busyPool.list().find((v) => v.ref === bed.fixtures.llama)?.state, 'failed');
    busy.release();
  });

  test('a client that gives up on a load does not mark the model failed', async () => {
    const { pool } = makePool({ maxLoaded: 1 });
    const busy = await pool.acquire(bed.fixtures.bert);
    const controller = new AbortController();
    const blocked = waitingForRoom(pool, 'tiny-llama.gguf');
    const waiting = pool.acquire(bed.fixtures.llama, { signal: controller.signal });
    await blocked;
    controller.abort();
    await assert.rejects(waiting, (e: unknown) => isHearthError(e, 'ABORTED'));
    busy.release();
    const view = pool.list().find((v) => v.ref === bed.fixtures.llama);
    assert.ok(view === undefined || (view.state !== 'failed' && view.error === undefined), `state ${view?.state}: ${view?.error}`);
    (await pool.acquire(bed.fixtures.llama)).release();
  });

  test('the memory budget is checked against the metadata estimate before loading', async () => {
    const probe = new LlamaBackend({ device: 'cpu', logger: silentLogger });
    const store = bed.box.store();
    const bertInfo = await probe.inspect(await store.resolve(bed.fixtures.bert));
    const llamaInfo = await probe.inspect(await store.resolve(bed.fixtures.llama));
    await probe.dispose();

    const tooSmall = makePool({ memoryBudget: bertInfo.estimatedBytes - 1 });
    await assert.rejects(tooSmall.pool.acquire(bed.fixtures.bert), (e: unknown) => isHearthError(e, 'MODEL_TOO_LARGE') && /memory budget/.test(e.message));
    assert.equal(tooSmall.backend.loads.length, 0, 'refused before loading');

    // Room for bert, or for llama, but not both: loading one evicts the other.
    const budget = Math.max(bertInfo.estimatedBytes, llamaInfo.estimatedBytes) + Math.min(bertInfo.estimatedBytes, llamaInfo.estimatedBytes) / 2;
    const { pool } = makePool({ maxLoaded: 5, memoryBudget: budget });
    await pool.use(bed.fixtures.bert, {}, async () => undefined);
    await pool.use(bed.fixtures.llama, {}, async () => undefined);
    assert.deepEqual(loaded(pool), [bed.fixtures.llama]);
  });

  test('keep-alive follows Ollama: expiry, 0 unloads at once, negative never, clamped by the server maximum', async () => {
    const clock = new ManualClock();
    const { pool } = makePool({ keepAlive: { defaultMs: 300_000, maxMs: 3_600_000 } }, { clock });
    await pool.use(bed.fixtures.bert, { keepAlive: '10m' }, async () => undefined);
    const view = pool.list()[0]!;
    assert.equal(view.expiresAt, new Date(clock.now() + 600_000).toISOString());
    clock.advance(599_000);
    assert.deepEqual(loaded(pool), [bed.fixtures.bert]);
    clock.advance(1_000);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(loaded(pool), []);

    await pool.use(bed.fixtures.bert, { keepAlive: 0 }, async () => undefined);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(loaded(pool), [], 'keep_alive 0 unloads after the request');

    await pool.use(bed.fixtures.bert, { keepAlive: -1 }, async () => undefined);
    assert.equal(pool.list()[0]!.expiresAt, new Date(clock.now() + 3_600_000).toISOString(), '"for ever" is clamped to the maximum');
    await pool.use(bed.fixtures.bert, { keepAlive: '48h' }, async () => undefined);
    assert.equal(pool.list()[0]!.expiresAt, new Date(clock.now() + 3_600_000).toISOString());

    const unbounded = makePool({}, { clock: new ManualClock() }).pool;
    await unbounded.use(bed.fixtures.bert, { keepAlive: '-1' }, async () => undefined);
    assert.equal(unbounded.list()[0]!.expiresAt, null, 'negative keeps it for ever');
  });

  test('a request in flight holds the model past its keep-alive', async () => {
    const clock = new ManualClock();
    const { pool } = makePool({}, { clock });
    const lease = await pool.acquire(bed.fixtures.bert, { keepAlive: '1s' });
    clock.advance(10_000);
    assert.deepEqual(loaded(pool), [bed.fixtures.bert]);
    lease.release();
    clock.advance(1_000);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(loaded(pool), []);
  });

  test('preload pulls nothing when cached, loads, warms and reports each state; start-up is not blocked', async () => {
    const { pool } = makePool();
    const seen: Array<[string, ModelState]> = [];
    pool.events.on('state', (name, state) => seen.push([name, state]));
    const preload = pool.preload([bed.fixtures.bert, join(bed.fixtures.dir, 'missing.gguf')]);
    assert.ok(pool.list().length >= 1, 'list() answers while preloading');
    await preload;
    assert.deepEqual(seen.filter(([n]) => n === bed.fixtures.bert).map(([, s]) => s), ['loading', 'warming', 'ready']);
    const views = pool.list();
    const bert = views.find((v) => v.name === bed.fixtures.bert)!;
    assert.equal(bert.state, 'ready');
    assert.equal(bert.pinned, true);
    assert.ok(bert.warmMs !== undefined && bert.loadMs !== undefined);
    const missing = views.find((v) => v.name.endsWith('missing.gguf'))!;
    assert.equal(missing.state, 'failed');
    assert.match(missing.error ?? '', /not found/);
  });

  test("prepare starts a stored model's backend without loading it, and passes over names it cannot resolve", async () => {
    let made = 0;
    const counting = new CountingBackend(new LlamaBackend({ device: 'cpu', logger: silentLogger }));
    const lazy = lazyBackend('llama.cpp', ENGINE_FORMATS.llama, async () => {
      made++;
      return counting;
    });
    const pool = bed.pool({}, { backends: [lazy] });
    await pool.prepare([join(bed.fixtures.dir, 'missing.gguf'), 'hf:acme/absent/x.gguf']);
    assert.equal(made, 0, 'nothing to prepare for');
    await pool.prepare([bed.fixtures.bert, bed.fixtures.bert]);
    assert.equal(made, 1);
    assert.equal(counting.loads.length, 0);
    assert.deepEqual(pool.list().filter((v) => v.loaded), []);
    await pool.use(bed.fixtures.bert, {}, async () => undefined);
    assert.equal(made, 1, 'the load reuses the prepared backend');
  });

  test('HEARTH_THREADS (a fixed thread count) skips tuning', async () => {
    const dir = join(bed.box.root, 'tuning-fixed');
    const tuner = new Tuner({ dir, cpus: 2, numParallel: 2, budgetMs: 600, machine: 'm', logger: silentLogger });
    const { pool } = makePool({ threads: 2 }, { tuner });
    await pool.preload([bed.fixtures.bert]);
    assert.equal(pool.list()[0]!.tuning, undefined);
    assert.equal(pool.list()[0]!.identity!.threads, 2);
    assert.deepEqual(await readdir(dir).catch(() => []), []);
  });

  test('a model that is not in the store fails with the store error, and nothing loads', async () => {
    const { pool, backend } = makePool();
    await assert.rejects(pool.acquire(join(bed.fixtures.dir, 'nope.gguf')), (e: unknown) => isHearthError(e, 'MODEL_NOT_FOUND'));
    await assert.rejects(pool.acquire('hf:acme/absent/x.gguf'), (e: unknown) => isHearthError(e, 'NOT_CACHED'));
    assert.equal(backend.loads.length, 0);
  });

  test('dispose unloads everything, is idempotent, and refuses new work', async () => {
    const { pool, backend } = makePool();
    await pool.use(bed.fixtures.bert, {}, async () => undefined);
    await pool.dispose();
    await pool.dispose();
    assert.deepEqual(backend.disposedModels, [bed.fixtures.bert]);
    await assert.rejects(pool.acquire(bed.fixtures.bert), (e: unknown) => isHearthError(e, 'ABORTED'));
  });
});
