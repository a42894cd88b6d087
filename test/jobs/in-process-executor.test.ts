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
});
