import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { isHearthError } from '../../src/errors/index.js';
import { createStore } from '../../src/store/index.js';
import { captureLogger } from '../support/capture-logger.js';
import { startFakeHub, type FakeHub } from '../support/fake-hub.js';
import { runHearth } from '../support/hearth-cli.js';
import { bindReadOnly, unmount } from '../support/mounts.js';
import { createSandbox, fixtureBytes, type Sandbox } from '../support/sandbox.js';
import { minilmFiles, MINILM_DEFAULT, writeForeignSnapshot } from './repo-fixtures.js';

/** Whether this process may bind-mount at all, probed once on a scratch folder. */
async function canBindMount(): Promise<boolean> {
  const probe = await createSandbox();
  await mkdir(probe.home, { recursive: true });
  const ok = bindReadOnly(probe.home);
  if (ok) unmount(probe.home);
  await probe.cleanup();
  return ok;
}

const FILES = minilmFiles();
const SKIP = (await canBindMount()) ? false : 'needs root to bind-mount a folder read-only';

/**
 * Issue 12 #10: with HEARTH_HOME (or the records in it) read-only, loads and
 * cached pulls failed on the bookkeeping writes, and doctor called symlinks
 * unsupported. Bookkeeping is now best effort, with one warning.
 */
describe('a read-only HEARTH_HOME', { skip: SKIP }, () => {
  let hub: FakeHub;
  let box: Sandbox;
  let minilmCommit: string;
  const mounted: string[] = [];
  const readOnly = (dir: string) => {
    assert.ok(bindReadOnly(dir), `mount ${dir} read-only`);
    mounted.push(dir);
  };

  before(async () => {
    hub = await startFakeHub();
    minilmCommit = hub.addRepo({ id: 'acme/minilm', files: FILES }).commit;
    hub.addRepo({ id: 'acme/m', files: [{ path: 'm.Q8_0.gguf', content: fixtureBytes(30_000, 91) }] });
  });
  after(() => hub.close());
  afterEach(async () => {
    while (mounted.length) unmount(mounted.pop()!);
    await box?.cleanup();
  });

  test('resolve, status, assertIntact, offline and online cached pulls, and local files all work, with a warning', async () => {
    box = await createSandbox(hub.url);
    const local = join(box.root, 'mine.gguf');
    await writeFile(local, fixtureBytes(10_000, 92));
    const writer = box.store();
    await writer.pull('hf:acme/minilm');
    await writer.pull('hf:acme/m/m.Q8_0.gguf');
    await writer.pull(local);
    readOnly(box.home);
    await assert.rejects(writeFile(join(box.home, 'probe'), 'x'), { code: 'EROFS' });

    const { logger, messages } = captureLogger();
    const store = createStore({ config: box.config({}, { verify: { onLoad: 'always' } }), logger });
    const offline = createStore({ config: box.config({ HEARTH_OFFLINE: '1' }), logger });
    try {
      for (const ref of ['hf:acme/minilm', 'hf:acme/m/m.Q8_0.gguf', local]) {
        const model = await store.resolve(ref);
        assert.ok((await store.status(ref)).cached, ref);
        assert.equal((await offline.pull(ref)).upToDate, true, ref);
        assert.equal((await store.pull(ref)).upToDate, true, `${ref}: online, cached`);
        const report = await store.assertIntact(model);
        assert.equal(report.hashed, model.files.length, `${ref}: hashed, and its record could not be refreshed`);
      }
    } finally {
      await store.dispose();
      await offline.dispose();
    }
    const warnings = messages();
    assert.ok(warnings.some((m) => /cannot write hearth's records/.test(m)), warnings.join('\n'));
    assert.equal(warnings.filter((m) => /cannot write hearth's records/.test(m)).length, 1, 'one warning, not one per file');

    const cli = await runHearth(['pull', 'hf:acme/minilm'], box.env());
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /up to date/);
    const ls = await runHearth(['ls'], box.env());
    assert.equal(ls.code, 0, ls.stderr);
  });

  test('an online pull of a complete foreign snapshot succeeds without its completion record', async () => {
    box = await createSandbox(hub.url);
    await writeForeignSnapshot(box.hubCache, 'acme/minilm', minilmCommit, FILES.filter((f) => MINILM_DEFAULT.includes(f.path)));
    await mkdir(box.home, { recursive: true });
    readOnly(box.home);
    const pulled = await box.store().pull('hf:acme/minilm');
    assert.equal(pulled.files.length, MINILM_DEFAULT.length);
    assert.equal(pulled.upToDate, true);
  });

  test('doctor tells symlink support apart from a cache it cannot write', async () => {
    box = await createSandbox(hub.url);
    await mkdir(box.hubCache, { recursive: true });
    await mkdir(box.home, { recursive: true });
    readOnly(box.home);
    const homeOnly = JSON.parse((await runHearth(['doctor', '--json'], box.env())).stdout) as Record<string, unknown>;
    assert.equal(homeOnly.symlinks, true, 'the cache itself is writable: tested');
    assert.equal(homeOnly.homeWritable, false);

    readOnly(box.hubCache);
    const r = await runHearth(['doctor'], box.env());
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`symlinks\\s+unknown: ${box.hubCache} is not writable`));
    assert.doesNotMatch(r.stdout, /not supported/);
    const json = JSON.parse((await runHearth(['doctor', '--json'], box.env())).stdout) as Record<string, unknown>;
    assert.equal(json.symlinks, null);
    assert.equal(json.writable, false);
  });

  test('doctor on a read-only cache that already holds symlinks says they are supported', async () => {
    box = await createSandbox(hub.url);
    await box.store().pull('hf:acme/m/m.Q8_0.gguf');
    readOnly(box.hubCache);
    const json = JSON.parse((await runHearth(['doctor', '--json'], box.env())).stdout) as Record<string, unknown>;
    assert.equal(json.symlinks, true);
    assert.match(String(json.symlinksDetail), /already holds symlinks/);
    assert.deepEqual((await readdir(box.hubCache)).filter((n) => n.startsWith('.hearth-doctor')), []);
  });

  test('a local file first registered under a read-only home still resolves', async () => {
    box = await createSandbox(hub.url);
    const local = join(box.root, 'fresh.gguf');
    await writeFile(local, fixtureBytes(5000, 93));
    await mkdir(box.home, { recursive: true });
    readOnly(box.home);
    const model = await box.store().resolve(local);
    assert.equal(model.primary.size, 5000);
    const error = await box.store().remove(local).catch((e: unknown) => e);
    assert.ok(isHearthError(error, 'NOT_CACHED'), 'nothing was recorded, so there is nothing to remove');
  });
});
