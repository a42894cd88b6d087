import assert from 'node:assert/strict';
import { open, readFile, realpath, stat } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { isHearthError } from '../../src/errors/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { ModelPool } from '../../src/pool/model-pool.js';
import { LlamaBackend } from '../../src/runtime/llama/llama-backend.js';
import { startFakeHub, type FakeHub } from '../support/fake-hub.js';
import { createModelFixtures, type ModelFixtures } from '../support/model-fixtures.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';

/** Bit rot is not served: before a model's first load in a process, files that changed since they were verified are hashed again. */
describe('verify before the first load', () => {
  let fixtures: ModelFixtures;
  let hub: FakeHub;
  let box: Sandbox;

  before(async () => {
    fixtures = await createModelFixtures();
    hub = await startFakeHub();
    hub.addRepo({ id: 'acme/rot', files: [{ path: 'm.gguf', content: await readFile(fixtures.bert) }] });
    box = await createSandbox(hub.url);
  });
  after(async () => {
    await box.cleanup();
    await hub.close();
    await fixtures.cleanup();
  });

  const makePool = () =>
    new ModelPool({
      store: box.store(),
      backends: [new LlamaBackend({ device: 'cpu', logger: silentLogger })],
      logger: silentLogger,
      config: { maxLoaded: 2, memoryBudget: 10e9, keepAlive: { defaultMs: 300_000, maxMs: undefined }, threads: 1, numParallel: 1, contextSize: undefined, cpus: 2 },
    });

  test('a pulled blob with 4 KiB rotted in place (same size) fails the next process\'s load with BLOB_CORRUPT', async () => {
    const ref = 'hf:acme/rot/m.gguf';
    const pulled = await box.store().pull(ref);
    const first = makePool();
    await first.use(ref, {}, (m) => m.embed(['fine']));
    await first.dispose();

    const blob = await realpath(pulled.primary.localPath);
    const { size } = await stat(blob);
    const handle = await open(blob, 'r+');
    try {
      await handle.write(Buffer.alloc(4096, 0xa5), 0, 4096, Math.floor(size / 2));
    } finally {
      await handle.close();
    }

    const restarted = makePool();
    try {
      await assert.rejects(restarted.acquire(ref), (e: unknown) => isHearthError(e, 'BLOB_CORRUPT'));
      const view = restarted.list().find((v) => v.ref === ref);
      assert.equal(view?.state, 'failed');
      assert.match(view?.error ?? '', /no longer matches|corrupt/);
    } finally {
      await restarted.dispose();
    }
  });
});
