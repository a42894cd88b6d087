import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, stat, symlink, truncate, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import * as tar from 'tar';
import { startFakeHub, type FakeHub } from '../support/fake-hub.js';
import { runHearth } from '../support/hearth-cli.js';
import { createSandbox, fixtureBytes, sha256, type Sandbox } from '../support/sandbox.js';

const MODEL = fixtureBytes(500_000, 5);
const TOKENIZER = Buffer.from('{"model":{"type":"BPE"}}');
const REF = 'hf:acme/m/m.Q8_0.gguf';

/** verify, repair, export/import, foreign caches, ls, rm and gc, through the real CLI. */
describe('hearth store maintenance commands', () => {
  let hub: FakeHub;
  let box: Sandbox;
  let commit: string;
  const repoDir = () => join(box.hubCache, 'models--acme--m');
  const blob = () => join(repoDir(), 'blobs', sha256(MODEL));
  const hearth = (args: string[], env: Record<string, string> = {}) => runHearth(args, box.env(env));

  before(async () => {
    hub = await startFakeHub();
    commit = hub.addRepo({ id: 'acme/m', files: [{ path: 'm.Q8_0.gguf', content: MODEL }, { path: 'tokenizer.json', content: TOKENIZER }] }).commit;
  });
  after(() => hub.close());
  beforeEach(async () => {
    await box?.cleanup();
    box = await createSandbox(hub.url);
    hub.reset();
  });

  test('verify finds a truncated blob and an altered one; --repair restores both from the hub', async () => {
    assert.equal((await hearth(['pull', REF, 'hf:acme/m/tokenizer.json'])).code, 0);
    assert.equal((await hearth(['verify'])).code, 0);

    await truncate(blob(), 1000);
    const truncated = await hearth(['verify', REF]);
    assert.equal(truncated.code, 65);
    assert.match(truncated.stdout, /CORRUPT/);

    const repaired = await hearth(['verify', REF, '--repair']);
    assert.equal(repaired.code, 0, repaired.stdout + repaired.stderr);
    assert.match(repaired.stdout, /REPAIRED/);
    assert.equal(sha256(await readFile(blob())), sha256(MODEL));

    const bytes = await readFile(blob());
    bytes[12345] = bytes[12345]! ^ 0xff;
    await writeFile(blob(), bytes);
    const altered = await hearth(['verify', '--json']);
    assert.equal(altered.code, 65);
    const report = JSON.parse(altered.stdout) as { items: Array<{ digest: string; status: string }> };
    assert.deepEqual(report.items.filter((i) => i.status !== 'ok').map((i) => i.digest), [sha256(MODEL)]);
    assert.equal((await hearth(['verify', '--repair'])).code, 0);
    assert.equal(sha256(await readFile(blob())), sha256(MODEL));
  });

  test('offline --repair quarantines the corrupt blob; the model then reads as not cached', async () => {
    assert.equal((await hearth(['pull', REF])).code, 0);
    await truncate(blob(), 10);
    hub.resetStats();
    const r = await hearth(['verify', REF, '--repair'], { HEARTH_OFFLINE: '1' });
    assert.equal(r.code, 65);
    assert.match(r.stdout, /QUARANTINED/);
    assert.equal(hub.stats.requests, 0);
    assert.equal(await stat(blob()).catch(() => undefined), undefined);
    const quarantined = await readdir(join(box.home, 'quarantine', 'models--acme--m'));
    assert.equal(quarantined.length, 1);
    assert.equal((await hearth(['pull', REF], { HEARTH_OFFLINE: '1' })).code, 68);
    assert.equal((await hearth(['pull', REF])).code, 0, 'online, the next pull restores it');
  });

  test('a bundle whose manifest is not JSON is BUNDLE_INVALID (exit 65), not an internal error', async () => {
    const staging = join(box.root, 'staging');
    await mkdir(join(staging, 'blobs'), { recursive: true });
    await writeFile(join(staging, 'hearth-bundle.json'), '{ "format": "hearth-bundle", oops');
    const bundle = join(box.root, 'bad.tar');
    await tar.c({ file: bundle, cwd: staging, portable: true }, ['hearth-bundle.json', 'blobs']);
    const r = await hearth(['import', bundle]);
    assert.equal(r.code, 65, r.stderr);
    assert.match(r.stderr, /error\[BUNDLE_INVALID\]: .*hearth-bundle\.json is not JSON/);
    assert.deepEqual((await readdir(box.hubCache)).filter((n) => !n.startsWith('.')), [], 'nothing published');
  });

  test('export, then import into an empty cache, then run offline', async () => {
    assert.equal((await hearth(['pull', REF, 'hf:acme/m/tokenizer.json'])).code, 0);
    const bundle = join(box.root, 'bundle.tar');
    const exported = await hearth(['export', REF, 'hf:acme/m/tokenizer.json', '-o', bundle]);
    assert.equal(exported.code, 0, exported.stderr);

    const airGapped = await createSandbox('http://127.0.0.1:9');
    try {
      const env = airGapped.env({ HEARTH_OFFLINE: '1' });
      const imported = await runHearth(['import', bundle], env);
      assert.equal(imported.code, 0, imported.stderr);
      hub.resetStats();
      const offline = await runHearth(['pull', REF], env);
      assert.equal(offline.code, 0, offline.stderr);
      const path = join(airGapped.hubCache, 'models--acme--m', 'snapshots', commit, 'm.Q8_0.gguf');
      assert.ok(offline.stdout.includes(path));
      assert.equal(sha256(await readFile(path)), sha256(MODEL));
      const listed = JSON.parse((await runHearth(['ls', '--json'], env)).stdout) as Array<{ ref: string; verifiedAt?: string }>;
      assert.deepEqual(listed.map((e) => e.ref).sort(), ['hf:acme/m/m.Q8_0.gguf', 'hf:acme/m/tokenizer.json']);
      assert.ok(listed.every((e) => e.verifiedAt), 'import verifies every blob');
    } finally {
      await airGapped.cleanup();
    }
  });

  test('a tampered bundle is refused and leaves the store untouched', async () => {
    assert.equal((await hearth(['pull', REF])).code, 0);
    const bundle = join(box.root, 'bundle.tar');
    assert.equal((await hearth(['export', REF, '-o', bundle])).code, 0);
    const bytes = await readFile(bundle);
    const at = bytes.indexOf(MODEL.subarray(100_000, 100_032));
    bytes[at] = bytes[at]! ^ 0xff;
    await writeFile(bundle, bytes);
    const other = await createSandbox();
    try {
      const r = await runHearth(['import', bundle], other.env());
      assert.equal(r.code, 65);
      assert.match(r.stderr, /DIGEST_MISMATCH/);
      assert.deepEqual((await readdir(other.hubCache)).filter((n) => n.startsWith('models--')), []);
      const garbage = join(box.root, 'garbage.tar');
      await writeFile(garbage, 'not a tar');
      assert.equal((await runHearth(['import', garbage], other.env())).code, 65);
    } finally {
      await other.cleanup();
    }
  });

  test('a cache written by huggingface_hub is used as is: no download, and offline works', async () => {
    // Lay out the cache by hand, as Python's snapshot_download would have.
    const dir = repoDir();
    await mkdir(join(dir, 'blobs'), { recursive: true });
    await writeFile(join(dir, 'blobs', sha256(MODEL)), MODEL);
    await mkdir(join(dir, 'snapshots', commit), { recursive: true });
    await symlink(`../../blobs/${sha256(MODEL)}`, join(dir, 'snapshots', commit, 'm.Q8_0.gguf'));
    await mkdir(join(dir, 'refs'), { recursive: true });
    await writeFile(join(dir, 'refs', 'main'), commit);

    const online = await hearth(['pull', REF]);
    assert.equal(online.code, 0, online.stderr);
    assert.match(online.stdout, /up to date/);
    assert.equal(hub.stats.bodyGets, 0);
    hub.resetStats();
    assert.equal((await hearth(['pull', REF], { HF_HUB_OFFLINE: '1' })).code, 0);
    assert.equal(hub.stats.requests, 0);
    const ls = await hearth(['ls']);
    assert.match(ls.stdout, /hf:acme\/m\/m\.Q8_0\.gguf\s+main\s+m\.Q8_0\.gguf\s+500\.0 KB/);
  });

  test('ls, rm and gc', async () => {
    assert.equal((await hearth(['pull', REF, 'hf:acme/m/tokenizer.json'])).code, 0);
    const listed = JSON.parse((await hearth(['ls', '--json'])).stdout) as Array<Record<string, unknown>>;
    const model = listed.find((e) => e.ref === REF)!;
    assert.equal(model.revision, 'main');
    assert.equal(model.size, MODEL.length);
    assert.equal(model.digest, sha256(MODEL));
    assert.ok(model.verifiedAt && model.lastUsedAt);

    // Garbage: an orphan blob and a dead partial with its piece record, all older than the grace period.
    const orphan = join(repoDir(), 'blobs', 'a'.repeat(64));
    const partial = join(repoDir(), 'blobs', `${'b'.repeat(64)}.123-deadbeef.incomplete`);
    const record = join(repoDir(), 'blobs', `${'b'.repeat(64)}.123-deadbeef.ranges`);
    await writeFile(orphan, 'orphan');
    await writeFile(partial, 'partial');
    await writeFile(record, '{"version":1,"size":7,"pieceBytes":4,"done":[4,3]}');
    const old = new Date(Date.now() - 2 * 3600_000);
    for (const file of [orphan, partial, record]) await utimes(file, old, old);
    const fresh = join(repoDir(), 'blobs', 'c'.repeat(64));
    await writeFile(fresh, 'fresh orphan, inside the grace period');

    const dry = await hearth(['gc', '--dry-run']);
    assert.match(dry.stdout, /would remove unreferenced-blob/);
    assert.ok((await stat(orphan)).isFile());
    const gc = await hearth(['gc', '--json']);
    const report = JSON.parse(gc.stdout) as { removed: Array<{ path: string }> };
    assert.deepEqual(report.removed.map((i) => i.path).sort(), [orphan, partial, record].sort());
    assert.ok((await stat(fresh)).isFile(), 'grace period protects recent files');
    assert.ok((await stat(blob())).isFile(), 'referenced blobs are never collected');

    const rm = await hearth(['rm', REF]);
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal(await stat(blob()).catch(() => undefined), undefined);
    assert.equal((await hearth(['pull', REF], { HEARTH_OFFLINE: '1' })).code, 68);
    assert.equal((await hearth(['pull', 'hf:acme/m/tokenizer.json'], { HEARTH_OFFLINE: '1' })).code, 0, 'other files of the repo stay');
    const again = await hearth(['rm', REF]);
    assert.equal(again.code, 66);
    assert.match(again.stderr, /NOT_CACHED/);
  });

  test('doctor reports cache dir, offline state, free disk and what is cached', async () => {
    assert.equal((await hearth(['pull', REF])).code, 0);
    const r = await hearth(['doctor', '--json'], { HF_HUB_OFFLINE: '1' });
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(report.cacheDir, box.hubCache);
    assert.equal(report.offline, true);
    assert.equal(report.writable, true);
    assert.equal(report.files, 1);
    assert.equal(report.storedBytes, MODEL.length);
    assert.ok(typeof report.freeBytes === 'number' && report.freeBytes > 0);
    assert.match((await hearth(['doctor'])).stdout, /cache dir\s+\S+hub/);
  });
});
