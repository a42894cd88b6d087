import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { silentLogger } from '../../src/log/logger.js';
import { LlamaBackend } from '../../src/runtime/llama/llama-backend.js';
import { backendConformance } from '../support/backend-conformance.js';
import { createModelFixtures } from '../support/model-fixtures.js';
import { createSandbox } from '../support/sandbox.js';

backendConformance('llama.cpp (GGUF)', async () => {
  const fixtures = await createModelFixtures();
  const box = await createSandbox();
  const store = box.store();
  return {
    backend: new LlamaBackend({ device: 'cpu', logger: (await import('../../src/log/logger.js')).silentLogger }),
    embedding: await store.resolve(fixtures.bert),
    generation: await store.resolve(fixtures.llama),
    cleanup: async () => {
      await box.cleanup();
      await fixtures.cleanup();
    },
  };
});

describe('LlamaBackend.load', () => {
  let fixtures: Awaited<ReturnType<typeof createModelFixtures>>;
  let box: Awaited<ReturnType<typeof createSandbox>>;
  before(async () => {
    fixtures = await createModelFixtures();
    box = await createSandbox();
  });
  after(async () => {
    await box.cleanup();
    await fixtures.cleanup();
  });

  test("takes the pool's inspect instead of reading the header again, and reads it itself without one", async () => {
    const backend = new LlamaBackend({ device: 'cpu', logger: silentLogger });
    try {
      const model = await box.store().resolve(fixtures.llama);
      const given = await backend.inspect(model);
      const told = await backend.load(model, { threads: 1, parallel: 1, info: given });
      assert.equal(told.info, given, 'the very object the pool passed');
      await told.dispose();
      const read = await backend.load(model, { threads: 1, parallel: 1 });
      assert.notEqual(read.info, given);
      assert.deepEqual(read.info, given, 'the same facts, read from the file');
      await read.dispose();
    } finally {
      await backend.dispose();
    }
  });
});
