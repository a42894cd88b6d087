import assert from 'node:assert/strict';
import { mkdir, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { isHearthError } from '../../src/errors/index.js';
import { createSandbox, fixtureBytes, sha256, type Sandbox } from '../support/sandbox.js';
import { supportFiles } from './repo-fixtures.js';

const GRAPH = fixtureBytes(50_000, 41);

async function writeTree(root: string, files: Record<string, Buffer | string>): Promise<void> {
  for (const [path, content] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
  }
}

/** A model directory (`./models/minilm`, a `file:` URL) registers in place, like a local file. */
describe('local model directories', () => {
  let box: Sandbox;
  let dir: string;

  beforeEach(async () => {
    box = await createSandbox();
    dir = join(box.root, 'models', 'minilm');
    await writeTree(dir, {
      'onnx/model.onnx': GRAPH,
      ...Object.fromEntries(supportFiles().map((f) => [f.path, f.content])),
      'model.safetensors': fixtureBytes(1000, 42),
      'README.md': '# mine',
      '.git/config': '[core]',
      '.cache/huggingface/download/onnx/model.onnx.metadata': 'x',
    });
  });
  afterEach(() => box.cleanup());

  test('registers the selected files where they are: hashed, never copied; listed once; status from the record', async () => {
    const store = box.store();
    const model = await store.pull(`file://${dir}/`);
    assert.equal(model.kind, 'local');
    assert.equal(model.ref, dir);
    assert.equal(model.primary.path, 'onnx/model.onnx');
    assert.equal(model.primary.localPath, join(dir, 'onnx', 'model.onnx'));
    assert.equal(model.primary.digest, sha256(GRAPH));
    assert.deepEqual(model.files.map((f) => f.path), ['onnx/model.onnx', ...supportFiles().map((f) => f.path).sort()]);
    assert.deepEqual(await readdir(box.hubCache).catch(() => []), [], 'nothing is copied into the cache');

    const resolved = await store.resolve(dir);
    assert.deepEqual(resolved.files, model.files);
    const [entry, ...rest] = await store.list();
    assert.equal(rest.length, 0);
    assert.equal(entry!.ref, dir);
    assert.equal(entry!.kind, 'local');
    assert.equal(entry!.file, 'onnx/model.onnx');
    assert.equal(entry!.files?.length, model.files.length);
    assert.equal(entry!.size, model.files.reduce((n, f) => n + f.size, 0));
    const status = await store.status(dir);
    assert.deepEqual(status, { ref: dir, cached: true, verified: true, path: model.primary.localPath, size: entry!.size, digest: sha256(GRAPH) });
  });

  test('verify re-hashes every selected file; rm forgets the directory and never deletes it', async () => {
    const store = box.store();
    await store.pull(dir);
    const ok = await store.verify(dir);
    assert.equal(ok.failed, 0);
    assert.equal(ok.items.length, 9);
    assert.ok(ok.items.every((i) => i.source === dir));

    await writeFile(join(dir, 'tokenizer.json'), '{"changed":true}');
    const changed = await store.verify(undefined);
    assert.equal(changed.failed, 1);
    assert.deepEqual(changed.items.filter((i) => i.status !== 'ok').map((i) => i.path), [join(dir, 'tokenizer.json')]);
    const again = await store.pull(dir);
    assert.notEqual(again.files.find((f) => f.path === 'tokenizer.json')!.digest, undefined);
    assert.equal(again.files.find((f) => f.path === 'tokenizer.json')!.digest, sha256(Buffer.from('{"changed":true}')), 'the new content is what is recorded');
    assert.equal((await store.verify(dir)).failed, 0, 'pulling again registers the new content');

    await store.remove(dir);
    assert.deepEqual(await store.list(), []);
    assert.ok((await stat(join(dir, 'onnx', 'model.onnx'))).isFile(), "the user's files stay");
    assert.ok(isHearthError(await store.remove(dir).catch((e: unknown) => e), 'NOT_CACHED'));
  });

  test('a directory without a model names what was looked for', async () => {
    const empty = join(box.root, 'empty');
    await writeTree(empty, { 'config.json': '{}', 'model.safetensors': 'x', '.hidden/model.onnx': 'x' });
    const error = await box.store().pull(empty).catch((e: unknown) => e);
    assert.ok(isHearthError(error, 'MODEL_NOT_FOUND'), String(error));
    assert.match(error.message, new RegExp(`local directory ${empty}: no model file found \\(looked for onnx/\\*\\.onnx, model\\*\\.onnx and \\*\\.gguf\\)`));
  });

  test('a GGUF directory selects like a GGUF repo', async () => {
    const gguf = join(box.root, 'gguf');
    await writeTree(gguf, { 'm.Q8_0.gguf': fixtureBytes(100, 1), 'm.Q4_K_M.gguf': fixtureBytes(100, 2) });
    const model = await box.store().pull(gguf);
    assert.deepEqual(model.files.map((f) => f.path), ['m.Q4_K_M.gguf']);
  });

  test('symlinks: followed inside the directory, refused by name when a selected one leads outside', async () => {
    const outside = join(box.root, 'elsewhere', 'tokenizer.json');
    await writeTree(join(box.root, 'elsewhere'), { 'tokenizer.json': '{}', 'notes.txt': 'x' });
    await symlink(join(box.root, 'elsewhere', 'notes.txt'), join(dir, 'notes-link.txt')); // not selected: harmless
    const store = box.store();
    assert.equal((await store.pull(dir)).files.length, 9);

    const linked = join(box.root, 'linked');
    await writeTree(linked, { 'onnx/model.onnx': GRAPH, 'config.json': '{}', 'shared/vocab': '[UNK]\n' });
    await symlink('shared/vocab', join(linked, 'vocab.txt'));
    const inside = await store.pull(linked);
    assert.ok(inside.files.some((f) => f.path === 'vocab.txt'), 'a link inside the directory is a file like any other');

    await symlink(outside, join(linked, 'tokenizer.json'));
    const error = await store.pull(linked).catch((e: unknown) => e);
    assert.ok(isHearthError(error, 'REF_UNSAFE'), String(error));
    assert.match(error.message, /tokenizer\.json is a symlink to .*elsewhere\/tokenizer\.json, outside the directory/);
  });
});
