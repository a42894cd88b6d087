import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import lockfile from 'proper-lockfile';
import { silentLogger } from '../../src/log/logger.js';
import { createStore } from '../../src/store/index.js';
import { repoDir as layoutRepoDir } from '../../src/store/layout.js';
import { withSweepLock } from '../../src/store/pull-markers.js';
import { isHearthError } from '../../src/errors/index.js';
import { captureLogger } from '../support/capture-logger.js';
import { blobName, startFakeHub, type FakeFile, type FakeHub } from '../support/fake-hub.js';
import { runHearth } from '../support/hearth-cli.js';
import { waitFor } from '../support/wait.js';
import { createSandbox, fixtureBytes, type Sandbox } from '../support/sandbox.js';
import { supportFiles } from './repo-fixtures.js';

/** An ONNX repo of ten files, as in the report: a graph, its external data and the sentence-transformers files. */
const FILES: FakeFile[] = [{ path: 'onnx/model.onnx', content: fixtureBytes(120_000, 71) }, { path: 'onnx/model.onnx_data', content: fixtureBytes(90_000, 72) }, ...supportFiles(7)];
/** Not part of the model: something to `hearth rm` while the model is being pulled. */
const README: FakeFile = { path: 'README.md', content: Buffer.from('# ten\n') };
const REF = 'hf:acme/ten';

/**
 * Issue 12 #3: `hearth gc --grace 0` while a multi-file pull runs deleted the
 * blobs the pull had renamed into blobs/ and was about to link. The hook runs
 * gc at exactly that moment, so the race is reproduced without timing.
 */
describe('gc and rm during a multi-file pull', () => {
  let hub: FakeHub;
  let box: Sandbox;
  let commit: string;
  const repoDir = () => join(box.hubCache, 'models--acme--ten');
  const offline = () => box.store({ HEARTH_OFFLINE: '1' });

  before(async () => {
    hub = await startFakeHub();
    commit = hub.addRepo({ id: 'acme/ten', files: [...FILES, README] }).commit;
  });
  after(() => hub.close());
  beforeEach(async () => {
    await box?.cleanup();
    box = await createSandbox(hub.url);
    hub.reset();
  });

  async function assertResolvesCompletely(): Promise<void> {
    const model = await offline().resolve(REF);
    assert.equal(model.files.length, FILES.length);
    for (const f of model.files) assert.deepEqual(await readFile(f.localPath), FILES.find((x) => x.path === f.path)!.content, f.path);
  }

  test('gc --grace 0 in another process, between publish and link, deletes nothing the pull needs', async () => {
    let gcReport: { removed: Array<{ path: string; reason: string }> } | undefined;
    const store = createStore({
      config: box.config(),
      hooks: {
        beforeLink: async () => {
          const gc = await runHearth(['gc', '--grace', '0', '--json'], box.env());
          assert.equal(gc.code, 0, gc.stderr);
          gcReport = JSON.parse(gc.stdout) as typeof gcReport;
        },
      },
    });
    try {
      const pulled = await store.pull(REF);
      assert.equal(pulled.files.length, FILES.length);
    } finally {
      await store.dispose();
    }
    assert.ok(gcReport, 'gc ran between publish and link');
    assert.deepEqual(gcReport.removed.filter((i) => i.reason === 'unreferenced-blob'), [], 'the pull in progress protected its blobs');
    await assertResolvesCompletely();
    const verify = await runHearth(['verify', REF], box.env());
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.match(verify.stdout, new RegExp(`${FILES.length} checked, 0 corrupt, 0 missing`));
    assert.deepEqual((await readdir(join(box.hubCache, '.locks', 'models--acme--ten'))).filter((n) => n.endsWith('.hearth-pull')), [], 'the marker is gone after the pull');
  });

  test('gc in the same process at that moment, and rm of another file of the repo, delete nothing the pull needs', async () => {
    const other = box.store();
    await other.pull(`hf:acme/ten/${README.path}`);
    const store = createStore({
      config: box.config(),
      hooks: {
        beforeLink: async () => {
          const report = await other.gc({ graceMs: 0 });
          assert.deepEqual(report.removed.filter((i) => i.reason === 'unreferenced-blob'), []);
          // rm sweeps the blobs of the repo that nothing links to any more.
          const removed = await other.remove(`hf:acme/ten/${README.path}`);
          assert.deepEqual(removed.removed.map((p) => p.slice(repoDir().length + 1)), [`snapshots/${commit}/README.md`, `blobs/${blobName(README)}`]);
        },
      },
    });
    try {
      await store.pull(REF);
    } finally {
      await store.dispose();
    }
    await assertResolvesCompletely();
  });

  test('rm of the whole repo while a pull writes into it is refused with STORE_BUSY and changes nothing', async () => {
    const other = box.store();
    await other.pull(`hf:acme/ten/${README.path}`);
    let refused: unknown;
    let before: string[] = [];
    const store = createStore({
      config: box.config(),
      hooks: {
        beforeLink: async () => {
          before = (await readdir(join(repoDir(), 'blobs'))).sort();
          refused = await other.remove(REF).catch((e: unknown) => e);
          assert.deepEqual((await readdir(join(repoDir(), 'blobs'))).sort(), before, 'no blob was removed');
        },
      },
    });
    try {
      await store.pull(REF);
    } finally {
      await store.dispose();
    }
    assert.ok(isHearthError(refused, 'STORE_BUSY'), String(refused));
    assert.match(refused.message, /a pull is writing into hf:acme\/ten/);
    await assertResolvesCompletely();
    // Once the pull has ended, the same rm goes through.
    const removed = await other.remove(REF);
    assert.ok(removed.removed.length > 0);
  });

  test('a pull does not register while a sweeper holds the sweep lock, and goes on once it is released', async () => {
    // Pull the README first so that the repo's lock folder exists to be locked.
    const sweeper = box.store();
    await sweeper.pull(`hf:acme/ten/${README.path}`);
    const locks = join(box.hubCache, '.locks', 'models--acme--ten');
    const markers = async () => (await readdir(locks).catch(() => [] as string[])).filter((n) => n.endsWith('.hearth-pull'));
    const dir = layoutRepoDir(box.hubCache, 'models--acme--ten');
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const sweeping = withSweepLock(dir, { logger: silentLogger }, async () => {
      locked();
      await held;
    });
    await isLocked;
    const { logger, messages } = captureLogger();
    const store = createStore({ config: box.config(), logger });
    const pulling = store.pull(REF);
    try {
      await waitFor(() => messages(20).includes('waiting for the sweep lock'), { what: 'the pull to reach registration' });
      assert.deepEqual(await markers(), [], 'no marker while the sweeper holds the lock');
    } finally {
      release();
      await sweeping;
    }
    try {
      await pulling;
    } finally {
      await store.dispose();
    }
    assert.deepEqual(await markers(), [], 'the marker is gone after the pull');
    await assertResolvesCompletely();
  });

  test('a blob deleted by a tool that knows nothing of markers is fetched again before the pull reports success', async () => {
    const { logger, messages } = captureLogger();
    let deleted = '';
    const store = createStore({
      config: box.config(),
      logger,
      hooks: {
        beforeLink: async ({ blobs }) => {
          deleted = blobs[3]!;
          await unlink(deleted);
        },
      },
    });
    try {
      const pulled = await store.pull(REF);
      assert.equal(pulled.upToDate, false);
    } finally {
      await store.dispose();
    }
    assert.ok((await stat(deleted)).isFile(), 'the blob is back');
    assert.ok(messages().some((m) => /vanished/.test(m)), messages().join('\n'));
    await assertResolvesCompletely();
  });

  test("gc ignores and removes a dead writer's marker, whatever its pid says, and honours one whose lock is held", async () => {
    await box.store().pull(REF);
    const locks = join(box.hubCache, '.locks', 'models--acme--ten');
    const orphanA = 'a'.repeat(64);
    const orphanB = 'b'.repeat(64);
    const old = new Date(Date.now() - 3600_000);
    for (const orphan of [orphanA, orphanB]) {
      await writeFile(join(repoDir(), 'blobs', orphan), orphan);
      await utimes(join(repoDir(), 'blobs', orphan), old, old);
    }
    // Both name this live process: liveness must come from the lock alone, never from a pid.
    const marker = (blobs: string[]) => JSON.stringify({ format: 'hearth-pull', host: hostname(), pid: process.pid, startedAt: old.toISOString(), blobs });
    const dead = join(locks, 'dead.hearth-pull');
    const live = join(locks, 'live.hearth-pull');
    await writeFile(dead, marker([orphanA]));
    // A crashed writer leaves its lock behind, with a heartbeat that stopped an hour ago.
    await mkdir(`${dead}.lock`);
    await utimes(`${dead}.lock`, old, old);
    await writeFile(live, marker([orphanB]));
    const release = await lockfile.lock(live, { realpath: false, lockfilePath: `${live}.lock`, stale: 15_000, update: 3_000 });
    try {
      const gc = await runHearth(['gc', '--grace', '0', '--json'], box.env());
      assert.equal(gc.code, 0, gc.stderr);
      const removed = (JSON.parse(gc.stdout) as { removed: Array<{ path: string }> }).removed.map((i) => i.path);
      assert.deepEqual(removed, [join(repoDir(), 'blobs', orphanA)]);
      assert.deepEqual(
        (await readdir(locks)).filter((n) => n.includes('.hearth-pull')).sort(),
        ['live.hearth-pull', 'live.hearth-pull.lock'],
        'the dead marker and its lock are cleaned, the live one kept',
      );
    } finally {
      await release();
    }
    await unlink(live);
    await assertResolvesCompletely();
  });

  test('verify reports dangling snapshot links by their repo path and exits non-zero; --repair online restores them', async () => {
    await box.store().pull(REF);
    const tokenizer = FILES.find((f) => f.path === 'tokenizer.json')!;
    const graphData = FILES.find((f) => f.path === 'onnx/model.onnx_data')!;
    for (const f of [tokenizer, graphData]) await unlink(join(repoDir(), 'blobs', blobName(f)));

    const verify = await runHearth(['verify'], box.env());
    assert.equal(verify.code, 65, verify.stdout + verify.stderr);
    assert.match(verify.stdout, /MISSING\s.*tokenizer\.json/);
    assert.match(verify.stdout, /MISSING\s.*onnx\/model\.onnx_data/);
    assert.match(verify.stdout, new RegExp(`${FILES.length} checked, 0 corrupt, 2 missing`));
    const json = JSON.parse((await runHearth(['verify', REF, '--json'], box.env())).stdout) as { failed: number; items: Array<{ status: string; files: string[]; model: string }> };
    assert.equal(json.failed, 2);
    assert.deepEqual(json.items.filter((i) => i.status === 'missing').map((i) => [i.model, i.files]).sort(), [[REF, ['onnx/model.onnx_data']], [REF, ['tokenizer.json']]]);

    const stillOffline = await runHearth(['verify', '--repair'], box.env({ HEARTH_OFFLINE: '1' }));
    assert.equal(stillOffline.code, 65, 'offline, nothing can bring a missing blob back');
    const repaired = await runHearth(['verify', '--repair'], box.env());
    assert.equal(repaired.code, 0, repaired.stdout + repaired.stderr);
    assert.match(repaired.stdout, /REPAIRED/);
    await assertResolvesCompletely();
  });
});
