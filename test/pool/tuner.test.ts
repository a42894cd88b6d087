import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { silentLogger } from '../../src/log/logger.js';
import { pick, Tuner } from '../../src/pool/tuner.js';
import { SpeakerBackend } from '../../src/runtime/audio/speaker-backend.js';
import { LlamaBackend } from '../../src/runtime/llama/llama-backend.js';
import type { Parallelism } from '../../src/runtime/types.js';
import { ChargedBackend, ChargedClock } from '../support/charged-backend.js';
import { poolBed } from '../support/pool-bed.js';
import { TINY_ECAPA, writeSpeechBrainRepo } from '../support/speechbrain-fixture.js';


/**
 * The tuner measures on time charged by the test (see ChargedBackend): the
 * inference is real, its duration is chosen, so what is tested is the
 * tuner's rules, never how busy this machine happens to be.
 */
describe('tuner', () => {
  const bed = poolBed();

  function tunedPool(dir: string, budgetMs: number, cost: (settings: Parallelism, texts: number) => number) {
    const clock = new ChargedClock();
    const tuner = new Tuner({ dir, cpus: 2, numParallel: 2, budgetMs, machine: 'test-machine', logger: silentLogger, now: clock.now });
    const pool = bed.pool({ threads: undefined }, { tuner, backends: [new ChargedBackend(new LlamaBackend({ device: 'cpu', logger: silentLogger }), clock, cost)] });
    return { pool, tuner, clock };
  }

  test('measures every candidate, keeps the pick, and a restart reuses the result', async () => {
    const dir = join(bed.box.root, 'tuning');
    // 8 texts cost 1000 ms at 1 thread per context, 950 ms at 2: a tie, which goes to fewer threads.
    const cost = (s: Parallelism, texts: number) => (texts / 8) * (s.threads === 1 ? 1000 : 950);
    const first = tunedPool(dir, 20_000, cost);
    await first.pool.preload([bed.fixtures.bert]);
    const tuning = first.pool.list()[0]!.tuning!;
    assert.equal(tuning.cached, false);
    assert.equal(tuning.complete, true);
    // On 2 CPUs: threads × contexts up to twice the cores, cheapest first.
    assert.deepEqual(tuning.measurements.map(({ threads, parallel }) => ({ threads, parallel })), [
      { threads: 1, parallel: 1 },
      { threads: 1, parallel: 2 },
      { threads: 2, parallel: 1 },
      { threads: 2, parallel: 2 },
    ]);
    const best = pick(tuning.measurements);
    assert.deepEqual(tuning.choice, { threads: best.threads, parallel: best.parallel });
    // The same rule, stated without the production code: within 10% of the fastest, fewest threads.
    const chosen = tuning.measurements.find((m) => m.threads === tuning.choice.threads && m.parallel === tuning.choice.parallel)!;
    const fastestRate = Math.max(...tuning.measurements.map((m) => m.rate));
    assert.ok(chosen.rate >= 0.9 * fastestRate, `the pick (${chosen.rate}) is within 10% of the fastest (${fastestRate})`);
    assert.ok(tuning.measurements.filter((m) => m.rate >= 0.9 * fastestRate).every((m) => m.threads >= chosen.threads), 'no tied candidate uses fewer threads');
    assert.equal(tuning.choice.threads, 1);
    const identity = first.pool.list()[0]!.identity!;
    assert.deepEqual({ threads: identity.threads, parallel: identity.parallel }, tuning.choice);
    assert.equal((await readdir(dir)).length, 1);

    const second = tunedPool(dir, 20_000, cost);
    await second.pool.preload([bed.fixtures.bert]);
    const again = second.pool.list()[0]!.tuning!;
    assert.equal(again.cached, true);
    assert.deepEqual(again.choice, tuning.choice);
    assert.deepEqual(again.measurements, tuning.measurements);
    const reloaded = second.pool.list()[0]!.identity!;
    assert.deepEqual({ threads: reloaded.threads, parallel: reloaded.parallel }, tuning.choice, 'loaded with the stored pick');
  });

  test('a speaker model is tuned on clips, in clips/s, by the same rule', async () => {
    const repo = join(bed.box.root, 'speaker-repo');
    await writeSpeechBrainRepo(repo, { shape: TINY_ECAPA, seed: 9 });
    const clock = new ChargedClock();
    const tuner = new Tuner({ dir: join(bed.box.root, 'tuning-speaker'), cpus: 2, numParallel: 2, budgetMs: 20_000, machine: 'test-machine', logger: silentLogger, now: clock.now });
    // 4 clips cost 400 ms with one session and 220 ms with two: parallel sessions win.
    const cost = (s: Parallelism, clips: number) => (clips / 4) * (s.parallel === 1 ? 400 : 220);
    const pool = bed.pool({ threads: undefined }, { tuner, backends: [new ChargedBackend(new SpeakerBackend({ logger: silentLogger, maxRows: 16 }), clock, cost)] });
    await pool.preload([repo]);
    const tuning = pool.list()[0]!.tuning!;
    assert.equal(tuning.unit, 'clips/s');
    assert.equal(tuning.complete, true);
    assert.equal(tuning.measurements.length, 4);
    assert.deepEqual(tuning.choice, { threads: 1, parallel: 2 });
  });

  test('a tuning result that cannot be saved (an unwritable home) costs a re-tune next start, not the load', async () => {
    const file = join(bed.box.root, 'not-a-directory');
    await writeFile(file, 'a file where the tuning directory would go');
    const cost = (_s: Parallelism, texts: number) => (texts / 8) * 1000;
    const { pool } = tunedPool(join(file, 'tuning'), 20_000, cost);
    await pool.preload([bed.fixtures.bert]);
    const view = pool.list()[0]!;
    assert.equal(view.state, 'ready', view.error);
    assert.equal(view.tuning?.complete, true);
    const restarted = tunedPool(join(file, 'tuning'), 20_000, cost);
    await restarted.pool.preload([bed.fixtures.bert]);
    assert.equal(restarted.pool.list()[0]!.tuning?.cached, false, 'nothing was stored, so the next start measures again');
  });

  test('the budget is a bound: past it no new candidate starts, so tuning overruns by at most one candidate', async () => {
    const dir = join(bed.box.root, 'tuning-busy');
    // Another process holds one core: contexts of 2 threads wait at their barrier, 50× slower.
    const cost = (s: Parallelism, texts: number) => (texts / 8) * (s.threads === 1 ? 100 : 5000);
    const { pool, clock } = tunedPool(dir, 1000, cost);
    await pool.preload([bed.fixtures.bert]);
    const tuning = pool.list()[0]!.tuning!;
    // 1 × 1 and 1 × 2 share the budget's first 800 ms; 2 × 1 starts inside it and overruns; 2 × 2 never starts.
    assert.deepEqual(tuning.measurements.map(({ threads, parallel }) => ({ threads, parallel })), [
      { threads: 1, parallel: 1 },
      { threads: 1, parallel: 2 },
      { threads: 2, parallel: 1 },
    ]);
    assert.equal(tuning.complete, false);
    // The overrun is the one slow candidate's measurement: 2 callers × (an untimed batch + a timed one) × 5000 ms.
    assert.ok(clock.ms <= 1000 + 20_000, `tuning took ${clock.ms} ms of a 1000 ms budget`);
    assert.equal(tuning.choice.threads, 1, 'the pick is among what was measured, and right for the busy machine');
    assert.deepEqual(await readdir(dir).catch(() => []), [], 'an incomplete measurement is not stored');
  });
});
