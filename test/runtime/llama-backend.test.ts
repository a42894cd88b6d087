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
