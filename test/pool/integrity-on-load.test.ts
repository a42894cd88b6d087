import assert from 'node:assert/strict';
import { open, readFile, realpath, stat } from 'node:fs/promises';
import { after, before, describe, test } from 'node:test';
import { isHearthError } from '../../src/errors/index.js';
import { startFakeHub, type FakeHub } from '../support/fake-hub.js';
import { poolBed } from '../support/pool-bed.js';

/** Bit rot is not served: before a model's first load in a process, files that changed since they were verified are hashed again. */
describe('verify before the first load', () => {
  let hub: FakeHub;
  before(async () => {
    hub = await startFakeHub();
  });
  after(() => hub.close());
  const bed = poolBed({ endpoint: () => hub.url });

  test('a pulled blob with 4 KiB rotted in place (same size) fails the next process\'s load with BLOB_CORRUPT', async () => {
    hub.addRepo({ id: 'acme/rot', files: [{ path: 'm.gguf', content: await readFile(bed.fixtures.bert) }] });
    const ref = 'hf:acme/rot/m.gguf';
    const pulled = await bed.box.store().pull(ref);
    const first = bed.pool();
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

    const restarted = bed.pool();
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
