import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
