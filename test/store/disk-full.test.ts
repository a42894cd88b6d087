import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../support/wait.js';
import { after, before, describe, test } from 'node:test';
import { isHearthError } from '../../src/errors/index.js';
import { startFakeHub, type FakeHub } from '../support/fake-hub.js';
import { partialDownloads } from '../support/hearth-cli.js';
import { dropMount, mountTmpfs } from '../support/mounts.js';
import { createSandbox, fixtureBytes, type Sandbox } from '../support/sandbox.js';

const MODEL = fixtureBytes(1_500_000, 4);


describe('a disk that fills up mid-download', async () => {
  const mountPoint = await mkdtemp(join(tmpdir(), 'hearth-tmpfs-'));
  const mounted = mountTmpfs(mountPoint, '2m');
  let hub: FakeHub;
  let box: Sandbox;

  before(async () => {
    hub = await startFakeHub();
    hub.addRepo({ id: 'acme/fat', files: [{ path: 'fat.gguf', content: MODEL }] });
    box = await createSandbox(hub.url);
  });
  after(async () => {
    try {
      await hub.close();
      await box.cleanup();
    } finally {
      await dropMount(mountPoint, mounted);
    }
  });

  test('raises DISK_FULL, keeps the partial, and resumes once space is freed', { skip: mounted ? false : 'cannot mount tmpfs here (not root)' }, async () => {
    const cache = join(mountPoint, 'hub');
    await mkdir(cache);
    const store = box.store({ HF_HUB_CACHE: cache });
    hub.throttle(1_000_000);
    const pulling = store.pull('hf:acme/fat/fat.gguf').catch((e: unknown) => e);
    // Once bytes arrive the free-space check has passed: then eat the space the download needs.
    const blobsDir = join(cache, 'models--acme--fat', 'blobs');
    await waitFor(async () => (await partialDownloads(blobsDir)).largest > 0, { what: 'the download to start' });
    await writeFile(join(mountPoint, 'filler'), Buffer.alloc(1_200_000)).catch(() => undefined);
    const error = await pulling;
    assert.ok(isHearthError(error, 'DISK_FULL'), String(error));
    assert.match(error.hint ?? '', /resumes/);
    const blobs = join(cache, 'models--acme--fat', 'blobs');
    const partials = (await readdir(blobs)).filter((n) => n.endsWith('.incomplete'));
    assert.equal(partials.length, 1);
    const kept = (await stat(join(blobs, partials[0]!))).size;
    assert.ok(kept > 0);

    await rm(join(mountPoint, 'filler'));
    hub.throttle(null);
    hub.resetStats();
    const result = await store.pull('hf:acme/fat/fat.gguf');
    assert.equal(result.primary.size, MODEL.length);
    assert.equal(hub.stats.rangeGets, 1, 'resumed from the kept partial');
    assert.ok(hub.stats.bytesSent < MODEL.length);
  });
});
