import assert from 'node:assert/strict';
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { isHearthError } from '../../src/errors/index.js';
import { createStore } from '../../src/store/index.js';
import { captureLogger } from '../support/capture-logger.js';
import { startFakeHub, type FakeHub } from '../support/fake-hub.js';
import { runHearth } from '../support/hearth-cli.js';
import { bindReadOnly, unmount, unmountAll } from '../support/mounts.js';
import { createSandbox, fixtureBytes, type Sandbox } from '../support/sandbox.js';
import { minilmFiles, MINILM_DEFAULT, writeForeignSnapshot } from './repo-fixtures.js';

/** Whether this process may bind-mount at all, probed once on a scratch folder. */
async function canBindMount(): Promise<boolean> {
  const probe = await createSandbox();
  try {
    await mkdir(probe.home, { recursive: true });
    const ok = bindReadOnly(probe.home);
    if (ok) unmount(probe.home);
    return ok;
  } finally {
    await probe.cleanup();
  }
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
  const writable = (dir: string) => {
    mounted.splice(mounted.lastIndexOf(dir), 1);
    unmount(dir);
  };

  before(async () => {
    hub = await startFakeHub();
    minilmCommit = hub.addRepo({ id: 'acme/minilm', files: FILES }).commit;
    hub.addRepo({ id: 'acme/m', files: [{ path: 'm.Q8_0.gguf', content: fixtureBytes(30_000, 91) }] });
  });
  after(() => hub.close());
  afterEach(async () => {
    // Every mount is undone, and the sandbox removed, even when one unmount fails.
    try {
      unmountAll(mounted);
    } finally {
      await box?.cleanup();
    }
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
    // Each store warns once for itself (see records.ts), so the others log elsewhere: this test counts one store's warnings.
    const store = createStore({ config: box.config({}, { verify: { onLoad: 'always' } }), logger });
    const offline = createStore({ config: box.config({ HEARTH_OFFLINE: '1' }), logger: captureLogger().logger });
    const auto = createStore({ config: box.config({}, { verify: { onLoad: 'auto' } }), logger: captureLogger().logger });
    try {
      for (const ref of ['hf:acme/minilm', 'hf:acme/m/m.Q8_0.gguf', local]) {
        const model = await store.resolve(ref);
        assert.ok((await store.status(ref)).cached, ref);
        assert.equal((await offline.pull(ref)).upToDate, true, ref);
        assert.equal((await store.pull(ref)).upToDate, true, `${ref}: online, cached`);
        const report = await store.assertIntact(model);
        assert.equal(report.hashed, model.files.length, `${ref}: hashed, and its record could not be refreshed`);
        // Under auto a file is hashed only when it changed since its record: touched now, each must be hashed,
        // and hashed again the next time, because the record that would have said so could not be written.
        for (const f of model.files) await utimes(f.localPath, new Date(), new Date());
        const changed = await auto.resolve(ref);
        assert.equal((await auto.assertIntact(changed)).hashed, model.files.length, `${ref}: changed since it was verified`);
        assert.equal((await auto.assertIntact(changed)).hashed, model.files.length, `${ref}: hashed again, since its record could not be refreshed`);
      }
    } finally {
      await store.dispose();
      await offline.dispose();
      await auto.dispose();
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

  test('each store warns once about its unwritable records, and again after they were writable and failed again', async () => {
    box = await createSandbox(hub.url);
    await box.store().pull('hf:acme/m/m.Q8_0.gguf');
    readOnly(box.home);
    const first = captureLogger();
    const second = captureLogger();
    const a = createStore({ config: box.config(), logger: first.logger });
    const b = createStore({ config: box.config(), logger: second.logger });
    const warnings = (log: ReturnType<typeof captureLogger>) => log.messages().filter((m) => /cannot write hearth's records/.test(m)).length;
    try {
      for (let i = 0; i < 2; i++) {
        assert.equal((await a.pull('hf:acme/m/m.Q8_0.gguf')).upToDate, true);
        assert.equal((await b.pull('hf:acme/m/m.Q8_0.gguf')).upToDate, true);
      }
      assert.equal(warnings(first), 1, 'one warning for the first store');
      assert.equal(warnings(second), 1, 'and one for the second: warnings are not shared across stores');
      writable(box.home);
      await a.pull('hf:acme/m/m.Q8_0.gguf');
      assert.equal(warnings(first), 1, 'a write that works warns about nothing');
      readOnly(box.home);
      await a.pull('hf:acme/m/m.Q8_0.gguf');
      assert.equal(warnings(first), 2, 'the home failed again after it recovered: warned again');
    } finally {
      await a.dispose();
      await b.dispose();
    }
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
