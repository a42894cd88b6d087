import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { isHearthError } from '../../src/errors/index.js';
import type { ResolvedModel } from '../../src/store/index.js';
import { blobName, startFakeHub, type FakeHub } from '../support/fake-hub.js';
import { createSandbox, fixtureBytes, type Sandbox } from '../support/sandbox.js';
import { MINILM_DEFAULT, minilmFiles, supportFiles, writeForeignSnapshot } from './repo-fixtures.js';

const FILES = minilmFiles();
const REF = 'hf:acme/minilm';
const GRAPH = FILES.find((f) => f.path === 'onnx/model.onnx')!;

/** Overwrites 4 KiB in the middle of a file, keeping its size: what bit rot (or a stray write) does. */
async function rot(path: string, options: { keepMtime?: boolean } = {}): Promise<void> {
  const before = await stat(path);
  // touch -r copies timestamps to the nanosecond; utimes() with a Date would round them to the millisecond.
  const reference = `${path}.mtime-ref`;
  if (options.keepMtime) execFileSync('touch', ['-r', path, reference]);
  const handle = await open(path, 'r+');
  try {
    await handle.write(Buffer.alloc(4096, 0x5a), 0, 4096, Math.floor(before.size / 2));
  } finally {
    await handle.close();
  }
  if (options.keepMtime) {
    execFileSync('touch', ['-m', '-r', reference, path]);
    await rm(reference);
    assert.equal((await stat(path)).mtimeMs, before.mtimeMs);
  }
  assert.equal((await stat(path)).size, before.size);
}

/** Issue 12 #11: a blob with 4 KiB of corrupted data (same size) loaded and served garbage. */
describe('Store.assertIntact before a load', () => {
  let hub: FakeHub;
  let box: Sandbox;
  const graphBlob = () => join(box.hubCache, 'models--acme--minilm', 'blobs', blobName(GRAPH));
  const store = (onLoad: 'auto' | 'always' | 'never' = 'auto') => box.store({ HEARTH_VERIFY_ON_LOAD: onLoad });

  before(async () => {
    hub = await startFakeHub();
    hub.addRepo({ id: 'acme/minilm', files: FILES });
  });
  after(() => hub.close());
  beforeEach(async () => {
    await box?.cleanup();
    box = await createSandbox(hub.url);
    hub.reset();
  });

  test('auto: a file verified by its download is not hashed again; always hashes every file; never checks nothing', async () => {
    const model = await store().pull(REF);
    const auto = await store().assertIntact(model);
    assert.equal(auto.policy, 'auto');
    assert.equal(auto.checked, MINILM_DEFAULT.length);
    assert.equal(auto.hashed, 0, 'the pull hashed them while they streamed in');
    assert.ok(auto.ms >= 0);
    const always = await store('always').assertIntact(model);
    assert.equal(always.hashed, MINILM_DEFAULT.length);
    assert.equal(always.bytesHashed, model.files.reduce((n, f) => n + f.size, 0));
    const never = await store('never').assertIntact(model);
    assert.deepEqual({ ...never, ms: 0 }, { policy: 'never', checked: 0, hashed: 0, bytesHashed: 0, ms: 0 });
  });

  test('auto: 4 KiB corrupted in place (same size) is BLOB_CORRUPT naming the repo path, with no absolute path in the message', async () => {
    const model = await store().pull(REF);
    await rot(graphBlob());
    const error = await store().assertIntact(model).catch((e: unknown) => e);
    assert.ok(isHearthError(error, 'BLOB_CORRUPT'), String(error));
    assert.match(error.message, /^hf:acme\/minilm: onnx\/model\.onnx no longer matches its digest/);
    assert.ok(!error.message.includes(box.root), error.message);
    assert.equal(error.details.path, model.primary.localPath);
    assert.equal(error.details.file, 'onnx/model.onnx');
    assert.equal(error.hint, `run: hearth verify --repair ${REF}`);
    assert.equal(error.exitCode, 65);
    assert.equal((await store().status(REF)).verified, false, 'the blob is no longer recorded as verified');
    // Still caught the next time, and by never only when asked not to look.
    assert.ok(isHearthError(await store().assertIntact(model).catch((e: unknown) => e), 'BLOB_CORRUPT'));
    assert.equal((await store('never').assertIntact(model)).checked, 0);

    assert.equal((await store().verify(REF, { repair: true })).failed, 0);
    assert.deepEqual(await readFile(graphBlob()), GRAPH.content);
    assert.equal((await store().assertIntact(model)).hashed, 0, 'repair recorded the restored blob as verified');
  });

  test('auto: corruption that restores the mtime is still seen (ctime), and so is a verification older than maxAge', async () => {
    const model = await store().pull(REF);
    await rot(graphBlob(), { keepMtime: true });
    assert.ok(isHearthError(await store().assertIntact(model).catch((e: unknown) => e), 'BLOB_CORRUPT'));

    await box.store().verify(REF, { repair: true });
    // Rot that leaves every timestamp alone is only found by age: make the last verification 8 days old.
    const record = join(box.home, 'records', 'blobs', `${blobName(GRAPH)}.json`);
    const json = JSON.parse(await readFile(record, 'utf8')) as { verifiedAt: string };
    json.verifiedAt = new Date(Date.now() - 8 * 86_400_000).toISOString();
    await writeFile(record, JSON.stringify(json));
    const aged = await store().assertIntact(model);
    assert.equal(aged.hashed, 1, 'only the file whose verification is too old');
    assert.equal((await store().assertIntact(model)).hashed, 0, 'a successful hash refreshes the record');
  });

  test('a foreign snapshot (no records) is hashed once, then trusted while unchanged', async () => {
    const wanted = FILES.filter((f) => MINILM_DEFAULT.includes(f.path));
    await writeForeignSnapshot(box.hubCache, 'acme/minilm', 'f'.repeat(40), wanted);
    const model = await store().resolve(REF);
    assert.equal((await store().assertIntact(model)).hashed, MINILM_DEFAULT.length);
    assert.equal((await store().assertIntact(model)).hashed, 0);
  });

  test('an aborted signal stops the check', async () => {
    const model = await store().pull(REF);
    const error = await store('always').assertIntact(model, { signal: AbortSignal.abort() }).catch((e: unknown) => e);
    assert.ok(isHearthError(error, 'ABORTED'), String(error));
  });

  test('local registrations follow the same rule against their recorded digest', async () => {
    const file = join(box.root, 'models', 'tiny.gguf');
    const dir = join(box.root, 'models', 'minilm');
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, fixtureBytes(20_000, 83));
    for (const f of [{ path: 'onnx/model.onnx', content: fixtureBytes(30_000, 84) }, ...supportFiles()]) {
      await mkdir(dirname(join(dir, f.path)), { recursive: true });
      await writeFile(join(dir, f.path), f.content);
    }
    for (const ref of [file, dir]) {
      const model: ResolvedModel = await store().pull(ref);
      assert.equal((await store().assertIntact(model)).hashed, 0, 'registration hashed it');
      assert.equal((await store('always').assertIntact(model)).hashed, model.files.length);
      // Same size and mtime: registration trusts it, the integrity check does not (ctime moved).
      await rot(model.primary.localPath, { keepMtime: true });
      const resolved = await store().resolve(ref);
      assert.equal(resolved.primary.digest, model.primary.digest, 'the registration still names the old content');
      const error = await store().assertIntact(resolved).catch((e: unknown) => e);
      assert.ok(isHearthError(error, 'BLOB_CORRUPT'), String(error));
      assert.match(error.message, new RegExp(`^local model ${ref.split('/').pop()!.replace('.', '\\.')}: ${model.primary.path.replace('.', '\\.')} no longer matches`));
      assert.ok(!error.message.includes(box.root), error.message);
      assert.equal(error.details.path, model.primary.localPath);
    }
  });
});
