import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { InProcessExecutor } from '../../src/jobs/in-process-executor.js';
import { executorConformance } from '../support/executor-conformance.js';

executorConformance('in-process', () => {
  let dir: string | undefined;
  return {
    open: async () => {
      dir ??= await mkdtemp(join(tmpdir(), 'hearth-jobs-'));
      return new InProcessExecutor({ dir, concurrency: 2 });
    },
    cleanup: () => (dir ? rm(dir, { recursive: true, force: true }) : Promise.resolve()),
  };
});

describe('in-process executor: its files', () => {
  test('a job is a status, a plan written once and a journal of results while it runs; once it ends, its status alone, with the result', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-jobs-'));
    const executor = new InProcessExecutor({ dir, concurrency: 1 });
    try {
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      executor.register('q', {
        child: async (_data, child, index) => {
          if (index === 1) await held;
          return child;
        },
        parent: async (_data, results) => results,
      });
      const id = await executor.submit({ queue: 'q', data: {}, children: ['a', 'b'] });
      for await (const status of executor.watch(id)) if (status.progress.done === 1) break;
      assert.deepEqual((await readdir(dir)).sort(), [`${id}.flow.json`, `${id}.json`, `${id}.results.jsonl`]);
      assert.deepEqual((await readFile(join(dir, `${id}.results.jsonl`), 'utf8')).trim().split('\n').map((l) => JSON.parse(l)), [{ i: 0, v: 'a' }]);
      release();
      let last;
      for await (const status of executor.watch(id)) last = status;
      assert.deepEqual(last?.result, ['a', 'b']);
      await executor.dispose();
      assert.deepEqual(await readdir(dir), [`${id}.json`]);
      assert.deepEqual((await executor.get(id))?.result, ['a', 'b']);
    } finally {
      await executor.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('ended jobs are kept up to the bound, newest first; older ones are removed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hearth-jobs-'));
    let executor = new InProcessExecutor({ dir, concurrency: 1, keep: 2 });
    const processors = { child: async (_data: unknown, child: unknown) => child, parent: async (_data: unknown, results: unknown[]) => results };
    const run = async (on: InProcessExecutor, child: string) => {
      const id = await on.submit({ queue: 'q', data: {}, children: [child] });
      for await (const _ of on.watch(id));
      return id;
    };
    try {
      executor.register('q', processors);
      const first = await run(executor, 'a');
      const second = await run(executor, 'b');
      await executor.dispose();
      // A new executor reads what the folder holds, then goes on from there.
      executor = new InProcessExecutor({ dir, concurrency: 1, keep: 2 });
      executor.register('q', processors);
      const third = await run(executor, 'c');
      await executor.dispose();
      assert.equal(await executor.get(first), undefined);
      assert.deepEqual([(await executor.get(second))?.result, (await executor.get(third))?.result], [['b'], ['c']]);
      assert.deepEqual((await readdir(dir)).sort(), [`${second}.json`, `${third}.json`].sort());
    } finally {
      await executor.dispose();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
