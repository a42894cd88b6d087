import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { lstat, readFile, readlink, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { isHearthError } from '../../src/errors/index.js';
import type { PullEvent } from '../../src/store/index.js';
import { startFakeHub, type FakeHub } from '../support/fake-hub.js';
import { createSandbox, fixtureBytes, sha256, type Sandbox } from '../support/sandbox.js';

const MODEL = fixtureBytes(300_000, 7);
const CONFIG_JSON = Buffer.from('{"architectures":["LlamaForCausalLM"]}\n');

describe('store pull against the fake hub', () => {
  let hub: FakeHub;
  let box: Sandbox;
  let commit: string;

  before(async () => {
    hub = await startFakeHub();
    commit = hub.addRepo({
      id: 'acme/tiny',
      files: [
        { path: 'tiny.Q4_K_M.gguf', content: MODEL },
        { path: 'config.json', content: CONFIG_JSON },
        { path: 'split/big-Q8_0-00001-of-00002.gguf', content: fixtureBytes(40_000, 2) },
        { path: 'split/big-Q8_0-00002-of-00002.gguf', content: fixtureBytes(30_000, 3) },
      ],
    }).commit;
    hub.addRepo({ id: 'acme/secret', private: true, files: [{ path: 'm.gguf', content: fixtureBytes(5000, 9) }] });
  });
  after(() => hub.close());
  beforeEach(async () => {
    await box?.cleanup();
    box = await createSandbox(hub.url);
    hub.reset();
  });

  test('lays files out exactly like huggingface_hub, and a second pull downloads nothing', async () => {
    const store = box.store();
    const events: PullEvent[] = [];
    const result = await store.pull('hf:acme/tiny/tiny.Q4_K_M.gguf', { onProgress: (e) => events.push(e) });
    const repo = join(box.hubCache, 'models--acme--tiny');
    const digest = sha256(MODEL);
    assert.equal(result.commit, commit);
    assert.equal(result.primary.localPath, join(repo, 'snapshots', commit, 'tiny.Q4_K_M.gguf'));
    assert.equal(await readlink(result.primary.localPath), `../../blobs/${digest}`);
    assert.deepEqual(await readFile(join(repo, 'blobs', digest)), MODEL);
    assert.equal(await readFile(join(repo, 'refs', 'main'), 'utf8'), commit);
    assert.equal(result.received, MODEL.length);
    assert.ok(events.some((e) => e.status === 'downloading' && e.completed > 0));
    assert.deepEqual(events.at(-1), { status: 'success', ref: 'hf:acme/tiny/tiny.Q4_K_M.gguf' });
    assert.equal(hub.stats.byPath.get('tiny.Q4_K_M.gguf')?.fullGets, 1);
    const locks = await readdir(join(box.hubCache, '.locks', 'models--acme--tiny'));
    assert.deepEqual(locks, [], 'the download lock is released');

    hub.resetStats();
    const again = await store.pull('hf:acme/tiny/tiny.Q4_K_M.gguf');
    assert.equal(again.upToDate, true);
    assert.equal(hub.stats.bodyGets, 0, 'a cached blob is never fetched again');
  });

  test('small git files are named by their git blob sha1 and verified against it', async () => {
    const result = await box.store().pull('hf:acme/tiny/config.json');
    const gitSha = createHash('sha1').update(`blob ${CONFIG_JSON.length}\0`).update(CONFIG_JSON).digest('hex');
    assert.equal(result.primary.digest, gitSha);
    assert.deepEqual(await readFile(result.primary.localPath), CONFIG_JSON);
  });

  test('a :quant ref picks the tagged file, and a split GGUF pulls every part in order', async () => {
    const single = await box.store().pull('hf:acme/tiny:q4_k_m');
    assert.deepEqual(single.files.map((f) => f.path), ['tiny.Q4_K_M.gguf']);
    const split = await box.store().pull('hf:acme/tiny:Q8_0');
    assert.deepEqual(split.files.map((f) => f.path), ['split/big-Q8_0-00001-of-00002.gguf', 'split/big-Q8_0-00002-of-00002.gguf']);
    assert.equal(split.primary.path, 'split/big-Q8_0-00001-of-00002.gguf');
    const missing = await box.store().pull('hf:acme/tiny:Q2_K').catch((e: unknown) => e);
    assert.ok(isHearthError(missing, 'MODEL_NOT_FOUND'));
    assert.deepEqual((missing.details.available as string[]).sort(), ['Q4_K_M', 'Q8_0']);
  });

  test('a connection dropped mid-body is resumed with a Range request, not restarted', async () => {
    hub.inject({ kind: 'drop', afterBytes: 200_000 });
    const result = await box.store().pull('hf:acme/tiny/tiny.Q4_K_M.gguf');
    assert.equal(result.primary.digest, sha256(MODEL));
    assert.equal(hub.stats.rangeGets, 1);
    // The second request starts where the disk left off (less the 64 KiB overlap), not at zero;
    // bytes still in socket buffers when the connection died are fetched again.
    const resent = hub.stats.bytesSent - 200_000;
    assert.ok(resent < MODEL.length - 60_000, `second request sent ${resent} of ${MODEL.length}`);
  });

  test('wrong bytes are caught by the digest check and never published', async () => {
    hub.inject({ kind: 'corrupt', times: 10 });
    const error = await box.store().pull('hf:acme/tiny/tiny.Q4_K_M.gguf').catch((e: unknown) => e);
    assert.ok(isHearthError(error, 'DIGEST_MISMATCH'), String(error));
    const blobs = await readdir(join(box.hubCache, 'models--acme--tiny', 'blobs'));
    assert.deepEqual(blobs.filter((n) => !n.endsWith('.incomplete')), []);
    assert.equal(await stat(join(box.hubCache, 'models--acme--tiny', 'refs', 'main')).catch(() => undefined), undefined);
  });

  test('a transient corruption or 500 is retried to success', async () => {
    hub.inject({ kind: 'corrupt' });
    hub.inject({ kind: 'status', status: 500 });
    const result = await box.store().pull('hf:acme/tiny/tiny.Q4_K_M.gguf');
    assert.deepEqual(await readFile(result.primary.localPath), MODEL);
  });

  test('hub errors map to typed errors', async () => {
    const notFound = await box.store().pull('hf:acme/nope/x.gguf').catch((e: unknown) => e);
    assert.ok(isHearthError(notFound, 'MODEL_NOT_FOUND'));
    const noEntry = await box.store().pull('hf:acme/tiny/missing.gguf').catch((e: unknown) => e);
    assert.ok(isHearthError(noEntry, 'MODEL_NOT_FOUND') && /file not found/.test(noEntry.message));
    const denied = await box.store().pull('hf:acme/secret/m.gguf').catch((e: unknown) => e);
    assert.ok(isHearthError(denied, 'HUB_AUTH_REQUIRED'));
    const allowed = await box.store({ HF_TOKEN: hub.token }).pull('hf:acme/secret/m.gguf');
    assert.equal(allowed.primary.size, 5000);
  });

  test('concurrent pulls of one file in one process share one download', async () => {
    hub.throttle(2_000_000);
    const store = box.store();
    const results = await Promise.all(Array.from({ length: 6 }, () => store.pull('hf:acme/tiny/tiny.Q4_K_M.gguf')));
    assert.equal(hub.stats.bodyGets, 1);
    assert.ok(results.every((r) => r.primary.digest === sha256(MODEL)));
  });

  test('one caller aborting does not cancel the shared download for the others', async () => {
    hub.throttle(1_000_000);
    const store = box.store();
    const impatient = new AbortController();
    const first = store.pull('hf:acme/tiny/tiny.Q4_K_M.gguf', { signal: impatient.signal });
    const second = store.pull('hf:acme/tiny/tiny.Q4_K_M.gguf');
    setTimeout(() => impatient.abort(), 50);
    assert.ok(isHearthError(await first.catch((e: unknown) => e), 'ABORTED'));
    assert.equal((await second).primary.digest, sha256(MODEL));
  });

  test('a new commit on main moves refs/main; the old snapshot stays usable by commit', async () => {
    const store = box.store();
    await store.pull('hf:acme/tiny/config.json');
    const updated = Buffer.from('{"architectures":["LlamaForCausalLM"],"v":2}\n');
    const next = hub.pushCommit('acme/tiny', [{ path: 'config.json', content: updated }]);
    try {
      const result = await store.pull('hf:acme/tiny/config.json');
      assert.equal(result.commit, next);
      assert.deepEqual(await readFile(result.primary.localPath), updated);
      hub.resetStats();
      const old = await store.pull(`hf:acme/tiny/config.json@${commit}`);
      assert.deepEqual(await readFile(old.primary.localPath), CONFIG_JSON);
      assert.equal(hub.stats.requests, 0, 'a cached commit is immutable: no network');
    } finally {
      hub.pushCommit('acme/tiny', [
        { path: 'tiny.Q4_K_M.gguf', content: MODEL },
        { path: 'config.json', content: CONFIG_JSON },
        { path: 'split/big-Q8_0-00001-of-00002.gguf', content: fixtureBytes(40_000, 2) },
        { path: 'split/big-Q8_0-00002-of-00002.gguf', content: fixtureBytes(30_000, 3) },
      ]);
    }
  });

  test('status() reports cached, verified, path, size and digest without any network', async () => {
    const store = box.store();
    assert.deepEqual(await store.status('hf:acme/tiny/tiny.Q4_K_M.gguf'), {
      ref: 'hf:acme/tiny/tiny.Q4_K_M.gguf',
      cached: false,
      verified: false,
      path: undefined,
      size: undefined,
      digest: undefined,
    });
    const pulled = await store.pull('hf:acme/tiny/tiny.Q4_K_M.gguf');
    hub.resetStats();
    const status = await store.status('hf:acme/tiny/tiny.Q4_K_M.gguf');
    assert.deepEqual(status, { ref: pulled.ref, cached: true, verified: true, path: pulled.primary.localPath, size: MODEL.length, digest: sha256(MODEL) });
    assert.equal(hub.stats.requests, 0);
  });

  test('an unreachable hub falls back to the cached copy, and fails clearly when there is none', async () => {
    await box.store().pull('hf:acme/tiny/tiny.Q4_K_M.gguf');
    const dead = box.store({ HF_ENDPOINT: 'http://127.0.0.1:9', HEARTH_PULL_RETRIES: '0' });
    const cached = await dead.pull('hf:acme/tiny/tiny.Q4_K_M.gguf');
    assert.equal(cached.upToDate, true);
    const error = await dead.pull('hf:acme/tiny/config.json').catch((e: unknown) => e);
    assert.ok(isHearthError(error, 'HUB_UNAVAILABLE'), String(error));
  });

  test('too little free disk fails before downloading and names the shortfall', async () => {
    const store = box.store({ HEARTH_DISK_RESERVE: String(2 ** 52) });
    const error = await store.pull('hf:acme/tiny/tiny.Q4_K_M.gguf').catch((e: unknown) => e);
    assert.ok(isHearthError(error, 'DISK_SPACE_INSUFFICIENT'), String(error));
    assert.equal(hub.stats.bodyGets, 0);
  });

  test('plain URLs go to their own namespace; a #sha256 pin is enforced', async () => {
    const url = `${hub.url}/cdn/${sha256(MODEL)}`;
    const result = await box.store().pull(url);
    assert.equal(result.kind, 'url');
    assert.ok(result.primary.localPath.startsWith(join(box.home, 'urls')));
    assert.deepEqual(await readFile(result.primary.localPath), MODEL);
    const wrong = await box.store().pull(`${url}#sha256=${'0'.repeat(64)}`).catch((e: unknown) => e);
    assert.ok(isHearthError(wrong, 'DIGEST_MISMATCH'), String(wrong));
  });

  test('a local file is registered in place: hashed, never copied', async () => {
    const path = join(box.root, 'mine.gguf');
    await writeFile(path, MODEL);
    const result = await box.store().pull(path);
    assert.equal(result.primary.localPath, path);
    assert.equal(result.primary.digest, sha256(MODEL));
    assert.equal((await lstat(path)).isFile(), true);
    assert.deepEqual(await readdir(box.hubCache).catch(() => []), []);
    const status = await box.store().status(path);
    assert.equal(status.cached, true);
    assert.equal(status.digest, sha256(MODEL));
  });
});
