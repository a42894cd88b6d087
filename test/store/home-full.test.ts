import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isHearthError } from '../../src/errors/index.js';
import { writeFileAtomic } from '../../src/store/fs-utils.js';
import { createStore } from '../../src/store/index.js';
import { captureLogger } from '../support/capture-logger.js';
import { startFakeHub, type FakeHub } from '../support/fake-hub.js';
import { runHearth } from '../support/hearth-cli.js';
import { dropMount, fill, mountTmpfs } from '../support/mounts.js';
import { createSandbox, fixtureBytes, sha256, type Sandbox } from '../support/sandbox.js';

/** Every path below `dir`, recursively. */
async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const full = join(dir, entry.name);
    out.push(full);
    if (entry.isDirectory()) out.push(...(await walk(full)));
  }
  return out;
}

/** Issue 12 #13: a full HEARTH_HOME gave DISK_FULL with no path, and left records/*.tmp behind. */
describe('a full HEARTH_HOME', async () => {
  const mountPoint = await mkdtemp(join(tmpdir(), 'hearth-home-tmpfs-'));
  const mounted = mountTmpfs(mountPoint, '1m');
  let hub: FakeHub;
  let box: Sandbox;
  const home = join(mountPoint, 'home');
  const MODEL = fixtureBytes(40_000, 95);

  before(async () => {
    hub = await startFakeHub();
    hub.addRepo({ id: 'acme/small', files: [{ path: 'small.gguf', content: MODEL }] });
    box = await createSandbox(hub.url);
    if (!mounted) return;
    await mkdir(home, { recursive: true });
    await fill(mountPoint);
  });
  after(async () => {
    try {
      await hub.close();
      await box.cleanup();
    } finally {
      await dropMount(mountPoint, mounted);
    }
  });
  const skip = mounted ? false : 'cannot mount tmpfs here (not root)';
  const leftovers = async () => (await walk(home)).filter((p) => p.endsWith('.tmp'));

  test('a write into it is DISK_FULL naming the file, and leaves no temp file', { skip }, async () => {
    const target = join(home, 'records', 'blobs', `${'a'.repeat(64)}.json`);
    const error = await writeFileAtomic(target, JSON.stringify({ verifiedAt: new Date().toISOString() })).catch((e: unknown) => e);
    assert.ok(isHearthError(error, 'DISK_FULL'), String(error));
    assert.ok(error.message.includes(target), error.message);
    assert.equal(error.details.path, target);
    assert.deepEqual(await leftovers(), []);
  });

  test('a URL pull, whose files live in HEARTH_HOME, fails with DISK_FULL naming where', { skip }, async () => {
    const store = box.store({ HEARTH_HOME: home });
    const error = await store.pull(`${hub.url}/cdn/${sha256(MODEL)}`).catch((e: unknown) => e);
    assert.ok(isHearthError(error, 'DISK_FULL'), String(error));
    assert.ok(error.message.includes(home), error.message);
    assert.equal(error.exitCode, 73);
    assert.deepEqual(await leftovers(), []);
    const cli = await runHearth(['pull', `${hub.url}/cdn/${sha256(MODEL)}`], box.env({ HEARTH_HOME: home }));
    assert.equal(cli.code, 73, cli.stderr);
    assert.ok(cli.stderr.includes(home), cli.stderr);
  });

  test('a hub pull (cache elsewhere) succeeds: its bookkeeping is best effort, with a warning and no temp file', { skip }, async () => {
    const { logger, messages } = captureLogger();
    const store = createStore({ config: box.config({ HEARTH_HOME: home }), logger });
    try {
      const pulled = await store.pull('hf:acme/small/small.gguf');
      assert.equal(pulled.primary.size, MODEL.length);
      assert.equal((await store.resolve('hf:acme/small/small.gguf')).primary.digest, sha256(MODEL));
    } finally {
      await store.dispose();
    }
    assert.ok(messages().some((m) => /cannot write hearth's records/.test(m)), messages().join('\n'));
    assert.deepEqual(await leftovers(), []);
  });
});
