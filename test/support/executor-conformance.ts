import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { HearthError, isHearthError } from '../../src/errors/index.js';
import type { JobExecutor, JobProcessors, JobStatus } from '../../src/jobs/executor.js';

/** How a conformance run gets executors: a fresh one, and (for resumption) another on the same state once the first is closed. */
export interface ExecutorHarness {
  /** Concurrency 2. */
  open(): Promise<JobExecutor>;
  cleanup(): Promise<void>;
}

/** A gate a child waits on; opened by the test, never by a clock. */
class Gates {
  readonly #open = new Map<string, () => void>();
  readonly #promises = new Map<string, Promise<void>>();
  wait(key: string, signal: AbortSignal): Promise<void> {
    if (!this.#promises.has(key)) this.#promises.set(key, new Promise<void>((resolve) => this.#open.set(key, resolve)));
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason as Error);
      signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
      void this.#promises.get(key)!.then(resolve);
    });
  }
  open(key: string): void {
    if (!this.#promises.has(key)) this.#promises.set(key, Promise.resolve());
    this.#open.get(key)?.();
  }
}

async function until(executor: JobExecutor, id: string, done: (s: JobStatus) => boolean): Promise<JobStatus[]> {
  const seen: JobStatus[] = [];
  for await (const status of executor.watch(id)) {
    seen.push(status);
    if (done(status)) return seen;
  }
  return seen;
}

/**
 * The contract every job executor keeps (in-process and BullMQ alike):
 * results in the children's order, progress to the end, retries, failure
 * with the child's error and never a hang, cancellation, and a bound on
 * children running at once. Children are paced by gates the test opens,
 * never by time.
 */
export function executorConformance(name: string, harness: () => ExecutorHarness, skip: string | false = false): void {
  describe(`job executor conformance: ${name}`, { skip }, () => {
    let h: ExecutorHarness;
    let executor: JobExecutor;
    const gates = new Gates();
    const calls = new Map<string, number>();
    let running = 0;
    let mostRunning = 0;
    const processors: JobProcessors = {
      async child(data, child, index, ctx) {
        const { key, fail, big } = child as { key: string; fail?: 'once' | 'always'; big?: number };
        calls.set(key, (calls.get(key) ?? 0) + 1);
        running++;
        mostRunning = Math.max(mostRunning, running);
        try {
          await gates.wait(key, ctx.signal);
          if (fail === 'always' || (fail === 'once' && ctx.attempt === 1)) throw new HearthError('INFERENCE_FAILED', `child ${key} failed (attempt ${ctx.attempt})`);
          return { index, key, prefix: (data as { prefix: string }).prefix, ...(big ? { text: `${key}:`.padEnd(big, 'x') } : {}) };
        } finally {
          running--;
        }
      },
      async parent(data, results, ctx) {
        if ((data as { whole?: boolean }).whole) return { texts: (results as Array<{ text: string }>).map((r) => r.text) };
        const keys = (results as Array<{ key: string; index: number }>).map((r) => `${r.index}:${r.key}`);
        return { prefix: (data as { prefix: string }).prefix, keys, ...(ctx.gate !== undefined ? { gate: ctx.gate } : {}) };
      },
      async gate(data, results) {
        const { prefix, failGate } = data as { prefix: string; failGate?: boolean };
        // What had started by the time the gate ran: only the first stage may have.
        gateSaw.set(prefix, { keys: (results as Array<{ key: string }>).map((r) => r.key), started: [...calls.keys()].filter((k) => k.startsWith(prefix)) });
        if (failGate) throw new HearthError('SPACE_MISMATCH', `gate ${prefix} refused`);
        return { passed: results.length };
      },
    };
    const gateSaw = new Map<string, { keys: string[]; started: string[] }>();

    before(async () => {
      h = harness();
      executor = await h.open();
      executor.register('test', processors);
    });
    after(async () => {
      await executor.dispose();
      await h.cleanup();
    });

    test('results come to the parent in the children\'s order, whatever order they finish in; progress counts to the end', async () => {
      const keys = ['a1', 'a2', 'a3', 'a4'];
      const id = await executor.submit({ queue: 'test', data: { prefix: 'p' }, children: keys.map((key) => ({ key })) });
      const watching = until(executor, id, (s) => s.state === 'completed' || s.state === 'failed');
      for (const key of [...keys].reverse()) gates.open(key);
      const seen = await watching;
      const last = seen.at(-1)!;
      assert.equal(last.state, 'completed', JSON.stringify(last.error));
      assert.deepEqual(last.result, { prefix: 'p', keys: ['0:a1', '1:a2', '2:a3', '3:a4'] });
      assert.deepEqual(last.progress, { done: 4, total: 4 });
      const done = seen.map((s) => s.progress.done);
      assert.deepEqual(done, [...done].sort((x, y) => x - y), 'progress never goes back');
      assert.deepEqual((await executor.get(id))?.result, last.result);
      assert.ok(mostRunning <= 2, `at most the concurrency runs at once (${mostRunning})`);
    });

    test('a child that fails once is tried again; one that always fails fails the job with its error, and nothing hangs', async () => {
      gates.open('b1');
      const retried = await executor.submit({ queue: 'test', data: { prefix: 'r' }, children: [{ key: 'b1', fail: 'once' }] });
      const ok = (await until(executor, retried, (s) => s.state !== 'queued' && s.state !== 'running')).at(-1)!;
      assert.equal(ok.state, 'completed');
      assert.equal(calls.get('b1'), 2);

      gates.open('b2');
      gates.open('b3');
      const failing = await executor.submit({ queue: 'test', data: { prefix: 'f' }, children: [{ key: 'b3' }, { key: 'b2', fail: 'always' }], attempts: 2 });
      const failed = (await until(executor, failing, (s) => s.state !== 'queued' && s.state !== 'running')).at(-1)!;
      assert.equal(failed.state, 'failed');
      assert.equal(failed.error?.code, 'INFERENCE_FAILED', JSON.stringify(failed.error));
      assert.match(failed.error!.message, /child b2 failed \(attempt 2\)/);
      assert.equal(calls.get('b2'), 2, 'attempts bound the tries');
    });

    test('cancel stops a running job: its children see the abort, and watch ends with cancelled', async () => {
      const id = await executor.submit({ queue: 'test', data: { prefix: 'c' }, children: [{ key: 'c1' }, { key: 'c2' }] });
      await until(executor, id, (s) => s.state === 'running');
      while ((calls.get('c1') ?? 0) === 0) await new Promise((resolve) => setImmediate(resolve));
      assert.equal(await executor.cancel(id), true);
      const last = (await until(executor, id, (s) => s.state === 'cancelled')).at(-1)!;
      assert.equal(last.state, 'cancelled');
      assert.equal(await executor.cancel(id), false, 'a job that ended cannot be cancelled');
    });

    test('a gated flow runs its first children, then the gate on their results, then the rest; the parent sees all in order and the gate\'s answer', async () => {
      for (const key of ['g1', 'g2', 'g3', 'g4']) gates.open(key);
      const id = await executor.submit({ queue: 'test', data: { prefix: 'g' }, children: ['g1', 'g2', 'g3', 'g4'].map((key) => ({ key })), gate: 2 });
      const last = (await until(executor, id, (s) => s.state === 'completed' || s.state === 'failed')).at(-1)!;
      assert.equal(last.state, 'completed', JSON.stringify(last.error));
      assert.deepEqual(last.result, { prefix: 'g', keys: ['0:g1', '1:g2', '2:g3', '3:g4'], gate: { passed: 2 } });
      assert.deepEqual(last.progress, { done: 4, total: 4 });
      assert.deepEqual(gateSaw.get('g'), { keys: ['g1', 'g2'], started: ['g1', 'g2'] }, 'the gate saw the first stage, and nothing after it had started');
    });

    test('a gate that refuses fails the job with its error, and no child after it ever runs', async () => {
      for (const key of ['h1', 'h2', 'h3']) gates.open(key);
      const id = await executor.submit({ queue: 'test', data: { prefix: 'h', failGate: true }, children: ['h1', 'h2', 'h3'].map((key) => ({ key })), gate: 2 });
      const last = (await until(executor, id, (s) => s.state !== 'queued' && s.state !== 'running')).at(-1)!;
      assert.equal(last.state, 'failed');
      assert.equal(last.error?.code, 'SPACE_MISMATCH', JSON.stringify(last.error));
      assert.match(last.error!.message, /gate h refused/);
      assert.equal(last.progress.done, 2);
      assert.equal(calls.get('h3'), undefined, 'the rest never ran');
    });

    test('large results (past what BullMQ should carry in a job) come back whole, in order', async () => {
      for (const key of ['l1', 'l2', 'l3']) gates.open(key);
      const sizes = [200_000, 10, 50_000];
      const id = await executor.submit({ queue: 'test', data: { prefix: 'l', whole: true }, children: ['l1', 'l2', 'l3'].map((key, i) => ({ key, big: sizes[i] })) });
      const last = (await until(executor, id, (s) => s.state === 'completed' || s.state === 'failed')).at(-1)!;
      assert.equal(last.state, 'completed', JSON.stringify(last.error));
      const texts = (last.result as { texts: string[] }).texts;
      assert.deepEqual(texts.map((t) => t.length), sizes);
      assert.ok(texts[0]!.startsWith('l1:xxx') && texts[2]!.startsWith('l3:xxx'));
    });

    test('an unknown id: get answers undefined and watch JOB_NOT_FOUND', async () => {
      assert.equal(await executor.get('00000000-0000-4000-8000-000000000000'), undefined);
      await assert.rejects(until(executor, '00000000-0000-4000-8000-000000000000', () => true), (e: unknown) => isHearthError(e, 'JOB_NOT_FOUND'));
    });

    test('a job left unfinished when its executor closes resumes on the next one, and finished children do not run again', async () => {
      gates.open('d1');
      const id = await executor.submit({ queue: 'test', data: { prefix: 'd' }, children: [{ key: 'd1' }, { key: 'd2' }] });
      await until(executor, id, (s) => s.progress.done === 1);
      await executor.dispose();
      executor = await h.open();
      gates.open('d2');
      executor.register('test', processors);
      const last = (await until(executor, id, (s) => s.state === 'completed' || s.state === 'failed')).at(-1)!;
      assert.equal(last.state, 'completed', JSON.stringify(last.error));
      assert.deepEqual(last.result, { prefix: 'd', keys: ['0:d1', '1:d2'] });
      assert.equal(calls.get('d1'), 1, 'the finished child ran once');
    });
  });
}
