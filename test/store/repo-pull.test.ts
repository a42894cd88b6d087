import assert from 'node:assert/strict';
import { readdir, readFile, readlink, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { isHearthError } from '../../src/errors/index.js';
import { nextLink } from '../../src/store/hub-client.js';
import type { ResolvedModel } from '../../src/store/index.js';
import { blobName, startFakeHub, type FakeFile, type FakeHub } from '../support/fake-hub.js';
import { createSandbox, fixtureBytes, sha256, type Sandbox } from '../support/sandbox.js';
import { MINILM_DEFAULT, minilmFiles, sizeOf, supportFiles, writeForeignSnapshot } from './repo-fixtures.js';

const FILES = minilmFiles();
const REF = 'hf:acme/minilm';
const content = (path: string, files: FakeFile[] = FILES) => files.find((f) => f.path === path)!.content;
const paths = (model: ResolvedModel) => model.files.map((f) => f.path);

/** Whole-repo refs (`hf:<owner>/<repo>`, `:<variant>`): one snapshot that is complete or absent. */
describe('whole-repo pulls', () => {
  let hub: FakeHub;
  let box: Sandbox;
  let commit: string;
  const repoDir = () => join(box.hubCache, 'models--acme--minilm');
  const offline = () => box.store({ HEARTH_OFFLINE: '1' });

  before(async () => {
    hub = await startFakeHub();
    commit = hub.addRepo({ id: 'acme/minilm', files: FILES }).commit;
    hub.addRepo({ id: 'acme/gguf', files: [{ path: 'm.Q8_0.gguf', content: fixtureBytes(9000, 3) }, { path: 'm.Q4_K_M.gguf', content: fixtureBytes(8000, 4) }] });
    hub.addRepo({ id: 'acme/evil', files: [{ path: 'onnx/model.onnx', content: fixtureBytes(100, 5) }, { path: '../x', content: Buffer.from('x') }] });
    hub.addRepo({ id: 'acme/evil2', files: [{ path: 'model.onnx', content: fixtureBytes(100, 5) }, { path: '/etc/passwd', content: Buffer.from('x') }] });
  });
  after(() => hub.close());
  beforeEach(async () => {
    await box?.cleanup();
    box = await createSandbox(hub.url);
    hub.reset();
  });

  test('pulls exactly the ONNX model and its support files, through a paged listing; offline resolves with zero requests', async () => {
    hub.pageTree(4);
    const store = box.store();
    const pulled = await store.pull(REF);
    assert.ok(hub.stats.treeGets >= 5, `the listing of ${FILES.length} files and their folders came in pages (${hub.stats.treeGets} requests)`);
    assert.deepEqual(paths(pulled), MINILM_DEFAULT);
    assert.equal(pulled.primary.path, 'onnx/model.onnx');
    assert.equal(pulled.commit, commit);
    assert.equal(pulled.received, sizeOf(FILES, MINILM_DEFAULT));
    for (const file of pulled.files) {
      assert.equal(file.localPath, join(repoDir(), 'snapshots', commit, file.path), 'the repo layout is kept');
      assert.deepEqual(await readFile(file.localPath), content(file.path));
    }
    assert.equal(await readlink(pulled.primary.localPath), `../../../blobs/${sha256(content('onnx/model.onnx'))}`);
    assert.equal(hub.stats.byPath.get('model.safetensors'), undefined, 'other weight formats are never fetched');
    assert.deepEqual((await readdir(join(repoDir(), 'snapshots', commit))).sort(), ['1_Pooling', 'config.json', 'modules.json', 'onnx', 'sentence_bert_config.json', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.txt']);
    // The completion record is hearth's, outside the HF tree.
    const record = JSON.parse(await readFile(join(box.home, 'records', 'snapshots', 'models--acme--minilm', commit, 'default.json'), 'utf8')) as { files: Array<{ path: string }> };
    assert.deepEqual(record.files.map((f) => f.path), MINILM_DEFAULT);

    hub.resetStats();
    const resolved = await offline().resolve(REF);
    assert.deepEqual(paths(resolved), MINILM_DEFAULT);
    assert.deepEqual(resolved.primary, pulled.primary);
    const again = await offline().pull(REF);
    assert.equal(again.upToDate, true);
    assert.equal(hub.stats.requests, 0);

    const status = await store.status(REF);
    assert.deepEqual(status, { ref: REF, cached: true, verified: true, path: pulled.primary.localPath, size: sizeOf(FILES, MINILM_DEFAULT), digest: sha256(content('onnx/model.onnx')) });
  });

  test('a pull at a commit hash writes no ref, and a cached commit needs no network', async () => {
    const pulled = await box.store().pull(`${REF}@${commit}`);
    assert.equal(pulled.commit, commit);
    assert.deepEqual(await readdir(join(repoDir(), 'refs')).catch(() => []), []);
    hub.resetStats();
    assert.equal((await box.store().pull(`${REF}@${commit}`)).upToDate, true);
    assert.deepEqual(paths(await offline().resolve(`${REF}@${commit}`)), MINILM_DEFAULT);
    assert.equal(hub.stats.requests, 0);
    assert.ok(isHearthError(await offline().resolve(REF).catch((e: unknown) => e), 'OFFLINE_NOT_CACHED'), 'main was never resolved');
  });

  test('a :variant picks that ONNX file; a missing one lists those that exist; variants share support files', async () => {
    const store = box.store();
    const q8 = await store.pull(`${REF}:q8`);
    assert.deepEqual(paths(q8), ['onnx/model_quantized.onnx', ...MINILM_DEFAULT.slice(1)]);
    const o3 = await store.pull(`${REF}:O3`);
    assert.equal(o3.primary.path, 'onnx/model_O3.onnx');
    const missing = await store.pull(`${REF}:fp16`).catch((e: unknown) => e);
    assert.ok(isHearthError(missing, 'MODEL_NOT_FOUND'), String(missing));
    assert.deepEqual(missing.details.available, ['fp32', 'O3', 'q8']);
    assert.match(missing.hint ?? '', /available variants: fp32, O3, q8/);

    await store.pull(REF);
    const listed = (await store.list()).map((e) => [e.ref, e.file, e.files?.length, e.size]);
    assert.deepEqual(listed, [
      [REF, 'onnx/model.onnx', 9, sizeOf(FILES, MINILM_DEFAULT)],
      [`${REF}:O3`, 'onnx/model_O3.onnx', 9, sizeOf(FILES, ['onnx/model_O3.onnx', ...MINILM_DEFAULT.slice(1)])],
      [`${REF}:q8`, 'onnx/model_quantized.onnx', 9, sizeOf(FILES, ['onnx/model_quantized.onnx', ...MINILM_DEFAULT.slice(1)])],
    ]);
    const removed = await store.remove(`${REF}:q8`);
    assert.deepEqual(removed.removed.map((p) => p.slice(repoDir().length + 1)), [
      `snapshots/${commit}/onnx/model_quantized.onnx`,
      `blobs/${sha256(content('onnx/model_quantized.onnx'))}`,
    ]);
    assert.deepEqual(paths(await offline().resolve(REF)), MINILM_DEFAULT, 'the shared tokenizer and configs stay');
    assert.equal(await offline().resolve(`${REF}:q8`).catch((e: unknown) => (e as { code: string }).code), 'OFFLINE_NOT_CACHED');
  });

  test('a GGUF repo without a tag gets the default quant, as Ollama picks it', async () => {
    const pulled = await box.store().pull('hf:acme/gguf');
    assert.deepEqual(paths(pulled), ['m.Q4_K_M.gguf']);
    assert.deepEqual(paths(await offline().resolve('hf:acme/gguf')), ['m.Q4_K_M.gguf']);
    assert.deepEqual(paths(await box.store().pull('hf:acme/gguf:Q8_0')), ['m.Q8_0.gguf']);
  });

  test('a hub fault in the 3rd of 5 files leaves nothing resolvable; the retry reuses the blobs already fetched', async () => {
    const files: FakeFile[] = [
      { path: 'onnx/model.onnx', content: fixtureBytes(150_000, 31) },
      { path: 'onnx/model.onnx_data', content: fixtureBytes(250_000, 32) },
      ...supportFiles(5).filter((f) => ['config.json', 'tokenizer.json', 'vocab.txt'].includes(f.path)),
    ];
    const five = hub.addRepo({ id: 'acme/five', files }).commit;
    const order = ['onnx/model.onnx', 'onnx/model.onnx_data', 'config.json', 'tokenizer.json', 'vocab.txt'];
    hub.inject({ kind: 'status', status: 500, times: 5 }, { path: 'config.json', method: 'GET' });
    const failed = await box.store({ HEARTH_PULL_RETRIES: '0' }).pull(`hf:acme/five@${five}`).catch((e: unknown) => e);
    assert.ok(isHearthError(failed, 'HUB_UNAVAILABLE'), String(failed));
    assert.equal(hub.stats.byPath.get('onnx/model.onnx_data')?.fullGets, 1, 'the files before the fault were downloaded');
    const dir = join(box.hubCache, 'models--acme--five');
    assert.equal(await stat(join(dir, 'snapshots')).catch(() => undefined), undefined, 'nothing is linked before every blob is in');
    for (const ref of [`hf:acme/five@${five}`, 'hf:acme/five']) {
      assert.ok(isHearthError(await box.store().resolve(ref).catch((e: unknown) => e), 'NOT_CACHED'), ref);
      assert.ok(isHearthError(await offline().pull(ref).catch((e: unknown) => e), 'OFFLINE_NOT_CACHED'), ref);
    }

    hub.clearFaults();
    hub.resetStats();
    const retried = await box.store().pull(`hf:acme/five@${five}`);
    assert.deepEqual(paths(retried), order);
    const total = sizeOf(files, order);
    assert.ok(retried.received < total - 390_000, `the retry received ${retried.received} of ${total} bytes`);
    assert.equal(hub.stats.byPath.get('onnx/model.onnx')?.gets, undefined);
    assert.deepEqual(paths(await offline().resolve(`hf:acme/five@${five}`)), order);
  });

  test('a new commit on the hub switches the model atomically, never file by file', async () => {
    const ref = 'hf:acme/moving';
    const old = hub.addRepo({ id: 'acme/moving', files: FILES }).commit;
    const store = box.store();
    await store.pull(ref);
    const next = minilmFiles(1);
    const pushed = hub.pushCommit('acme/moving', next);
    hub.inject({ kind: 'status', status: 500, times: 5 }, { path: 'tokenizer.json', method: 'GET' });
    // The hub failing mid-pull is "unreachable": like huggingface_hub, the pull falls back to the cached snapshot.
    const fallback = await box.store({ HEARTH_PULL_RETRIES: '0' }).pull(ref);
    assert.equal(fallback.commit, old);
    assert.equal(hub.stats.byPath.get('onnx/model.onnx')?.gets, 2, 'the new graph was downloaded before the fault');
    const during = await offline().resolve(ref);
    assert.equal(during.commit, old, 'until the new snapshot is complete, main resolves to the old one');
    for (const f of during.files) assert.deepEqual(await readFile(f.localPath), content(f.path));

    hub.clearFaults();
    const updated = await store.pull(ref);
    assert.equal(updated.commit, pushed);
    const after = await offline().resolve(ref);
    assert.equal(after.commit, pushed);
    for (const f of after.files) assert.deepEqual(await readFile(f.localPath), content(f.path, next));
    assert.equal((await offline().resolve(`${ref}@${old}`)).commit, old, 'the old commit stays resolvable by hash');
  });

  test("a foreign HF cache (no hearth record) resolves when complete, not when a file it needs is missing", async () => {
    const wanted = FILES.filter((f) => MINILM_DEFAULT.includes(f.path));
    await writeForeignSnapshot(box.hubCache, 'acme/minilm', commit, wanted);
    const resolved = await offline().resolve(REF);
    assert.deepEqual(paths(resolved), MINILM_DEFAULT);
    assert.equal(hub.stats.requests, 0);
    const online = await box.store().pull(REF);
    assert.equal(online.upToDate, true, 'online, nothing is downloaded again');
    assert.equal(hub.stats.bodyGets, 0);

    await box.cleanup();
    box = await createSandbox(hub.url);
    await writeForeignSnapshot(box.hubCache, 'acme/minilm', commit, wanted.filter((f) => f.path !== 'tokenizer.json'));
    assert.ok(isHearthError(await offline().resolve(REF).catch((e: unknown) => e), 'OFFLINE_NOT_CACHED'));

    await box.cleanup();
    box = await createSandbox(hub.url);
    await writeForeignSnapshot(box.hubCache, 'acme/minilm', commit, wanted.filter((f) => f.path !== '1_Pooling/config.json'));
    assert.ok(isHearthError(await offline().resolve(REF).catch((e: unknown) => e), 'OFFLINE_NOT_CACHED'), 'modules.json names a Pooling module whose config is missing');
  });

  test('verify finds a corrupt blob in a whole-repo snapshot and --repair restores it; gc keeps every blob of the model', async () => {
    const store = box.store();
    await store.pull(REF);
    const tokenizer = blobName(FILES.find((f) => f.path === 'tokenizer.json')!);
    const blob = join(repoDir(), 'blobs', tokenizer);
    await writeFile(blob, 'not the tokenizer');
    const report = await store.verify(REF);
    assert.equal(report.failed, 1);
    assert.deepEqual(report.items.filter((i) => i.status !== 'ok').map((i) => i.digest), [tokenizer]);
    const repaired = await store.verify(REF, { repair: true });
    assert.equal(repaired.failed, 0);
    assert.deepEqual(await readFile(blob), content('tokenizer.json'));
    assert.deepEqual(paths(await offline().resolve(REF)), MINILM_DEFAULT);

    const gc = await store.gc({ graceMs: 0 });
    assert.deepEqual(gc.removed.filter((i) => i.reason !== 'old-quarantine'), [], 'the quarantined copy may go; nothing else');
    await rm(join(repoDir(), 'snapshots'), { recursive: true });
    const swept = await store.gc({ graceMs: 0 });
    assert.equal(swept.removed.filter((i) => i.reason === 'unreferenced-blob').length, MINILM_DEFAULT.length);
    assert.deepEqual(swept.removed.filter((i) => i.reason === 'stale-record').map((i) => i.path), [join(box.home, 'records', 'snapshots', 'models--acme--minilm', commit, 'default.json')]);
  });

  test('export, then import into a fresh home, then resolve offline', async () => {
    const store = box.store();
    await store.pull(REF);
    await store.pull(`${REF}:q8`);
    const bundle = join(box.root, 'bundle.tar');
    const exported = await store.exportBundle([REF, `${REF}:q8`], bundle);
    assert.deepEqual(exported.models, [REF, `${REF}:q8`]);
    const airGapped = await createSandbox('http://127.0.0.1:9');
    try {
      const imported = await airGapped.store({ HEARTH_OFFLINE: '1' }).importBundle(bundle);
      assert.deepEqual(imported.models, [REF, `${REF}:q8`]);
      const there = airGapped.store({ HEARTH_OFFLINE: '1' });
      const model = await there.resolve(REF);
      assert.deepEqual(paths(model), MINILM_DEFAULT);
      for (const f of model.files) assert.deepEqual(await readFile(f.localPath), content(f.path));
      assert.equal((await there.resolve(`${REF}:q8`)).primary.path, 'onnx/model_quantized.onnx');
      assert.deepEqual((await there.list()).map((e) => e.ref), [REF, `${REF}:q8`]);
      assert.ok((await there.status(REF)).verified, 'import verified every blob');
    } finally {
      await airGapped.cleanup();
    }
  });

  test('path-traversal names in a hub listing are refused before anything is written', async () => {
    for (const repo of ['acme/evil', 'acme/evil2']) {
      const error = await box.store().pull(`hf:${repo}`).catch((e: unknown) => e);
      assert.ok(isHearthError(error, 'REF_UNSAFE'), `${repo}: ${String(error)}`);
    }
    assert.equal(hub.stats.bodyGets, 0);
    assert.deepEqual((await readdir(box.hubCache).catch(() => [] as string[])).filter((n) => n.startsWith('models--')), []);
  });

  test('a file removed by hand from a completed snapshot makes the model not cached, and a pull restores it', async () => {
    const store = box.store();
    await store.pull(REF);
    await unlink(join(repoDir(), 'snapshots', commit, '1_Pooling', 'config.json'));
    assert.ok(isHearthError(await offline().resolve(REF).catch((e: unknown) => e), 'OFFLINE_NOT_CACHED'));
    const restored = await store.pull(REF);
    assert.equal(restored.upToDate, true, 'the blob was still there: only the link is made again');
    assert.deepEqual(paths(await offline().resolve(REF)), MINILM_DEFAULT);
  });

  test('the Link header is read as the hub and GitHub write it', () => {
    const next = 'https://huggingface.co/api/models/a/b/tree/main?recursive=true&cursor=eyJmaWxlX25hbWUiOiJ4In0';
    assert.equal(nextLink(`<${next}>; rel="next"`), next);
    assert.equal(nextLink(`<https://x/?page=1>; rel="prev", <${next}>; rel="next"`), next);
    assert.equal(nextLink('<https://x/?page=1>; rel="prev"'), undefined);
    assert.equal(nextLink(null), undefined);
  });
});
