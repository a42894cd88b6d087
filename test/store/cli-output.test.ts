import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { startFakeHub, type FakeHub } from '../support/fake-hub.js';
import { runHearth } from '../support/hearth-cli.js';
import { createSandbox, fixtureBytes, sha256, type Sandbox } from '../support/sandbox.js';
import { MINILM_DEFAULT, minilmFiles, supportFiles, writeForeignSnapshot } from './repo-fixtures.js';

const FILES = minilmFiles();
const GGUF = fixtureBytes(30_000, 97);

async function writeTree(root: string, files: Array<{ path: string; content: Buffer }>): Promise<void> {
  for (const f of files) {
    await mkdir(dirname(join(root, f.path)), { recursive: true });
    await writeFile(join(root, f.path), f.content);
  }
}

/** Issue 11: what the store commands print. */
describe('hearth pull, verify, doctor and ls output', () => {
  let hub: FakeHub;
  let box: Sandbox;
  let commit: string;
  const hearth = (args: string[], env: Record<string, string> = {}) => runHearth(args, box.env(env));
  const lines = (text: string) => text.trim().split('\n');

  before(async () => {
    hub = await startFakeHub();
    commit = hub.addRepo({ id: 'acme/minilm', files: FILES }).commit;
    hub.addRepo({ id: 'acme/m', files: [{ path: 'm.Q8_0.gguf', content: GGUF }] });
  });
  after(() => hub.close());
  beforeEach(async () => {
    await box?.cleanup();
    box = await createSandbox(hub.url);
    hub.reset();
  });

  test('a first pull of a local file says it registered it, with digest and size; then up to date; then registered again', async () => {
    const file = join(box.root, 'mine.gguf');
    await writeFile(file, GGUF);
    const first = await hearth(['pull', file]);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, `${file}\t${file}\t30.0 KB\tregistered file: 30.0 KB, sha256 ${sha256(GGUF)}\n`);
    assert.match((await hearth(['pull', file])).stdout, /\tup to date\n$/);
    const changed = fixtureBytes(30_000, 98);
    await writeFile(file, changed);
    assert.match((await hearth(['pull', file])).stdout, new RegExp(`registered again, content changed: file, 30\\.0 KB, sha256 ${sha256(changed)}`));
  });

  test('a first pull of a local directory says it registered the directory, its files, size and digest', async () => {
    const dir = join(box.root, 'models', 'minilm');
    const graph = fixtureBytes(5000, 99);
    await writeTree(dir, [{ path: 'onnx/model.onnx', content: graph }, ...supportFiles()]);
    const r = await hearth(['pull', dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^${dir}\\t${dir}/onnx/model\\.onnx\\t\\S+ KB\\tregistered directory \\(9 files, primary onnx/model\\.onnx\\): \\S+ KB, sha256 ${sha256(graph)}\\n$`));
  });

  test('a pull by alias names the alias, what it resolves to, and the outcome', async () => {
    await mkdir(box.home, { recursive: true });
    await writeFile(join(box.home, 'config.json'), JSON.stringify({ aliases: { tiny: 'hf:acme/m/m.Q8_0.gguf' } }));
    const first = await hearth(['pull', 'tiny']);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /^tiny \(alias of hf:acme\/m\/m\.Q8_0\.gguf\)\t\S+\/snapshots\/[0-9a-f]{40}\/m\.Q8_0\.gguf\t30\.0 KB\tdownloaded 30\.0 KB\n$/);
    assert.match((await hearth(['pull', 'tiny'])).stdout, /^tiny \(alias of hf:acme\/m\/m\.Q8_0\.gguf\)\t.*\tup to date\n$/);
  });

  test('doctor lists the cached models and keeps the count; --json has them too', async () => {
    assert.equal((await hearth(['pull', 'hf:acme/minilm', 'hf:acme/m/m.Q8_0.gguf'])).code, 0);
    const r = await hearth(['doctor']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /cached\s+2 models, 10 files, /);
    assert.match(r.stdout, /\n\s+hf:acme\/m\/m\.Q8_0\.gguf\s+30\.0 KB {2}1 file\n/);
    assert.match(r.stdout, /\n\s+hf:acme\/minilm\s+\S+ KB {2}9 files\n/);
    const json = JSON.parse((await hearth(['doctor', '--json'])).stdout) as { models: number; cached: Array<{ ref: string; files: number }> };
    assert.equal(json.models, 2);
    assert.deepEqual(json.cached.map((m) => [m.ref, m.files]), [['hf:acme/m/m.Q8_0.gguf', 1], ['hf:acme/minilm', 9]]);
  });

  test('verify of a local ONNX directory prints each file by its path in the model, and the model once', async () => {
    const dir = join(box.root, 'models', 'enc');
    await writeTree(dir, [{ path: 'onnx/model.onnx', content: fixtureBytes(5000, 100) }, ...supportFiles()]);
    assert.equal((await hearth(['pull', dir])).code, 0);
    const r = await hearth(['verify', dir]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const rows = lines(r.stdout).slice(1, -1);
    assert.equal(rows.length, 9);
    assert.equal(r.stdout.split(dir).length - 1, 1, `the directory is named once:\n${r.stdout}`);
    for (const path of ['onnx/model.onnx', ...supportFiles().map((f) => f.path)]) assert.ok(rows.some((row) => row.includes(` ${path} `)), `${path} in\n${r.stdout}`);
    assert.match(lines(r.stdout).at(-1)!, /^9 checked, 0 corrupt, 0 missing$/);
  });

  test('ls groups a snapshot huggingface_hub wrote into one model line, keeps loose files apart, and still does after an offline pull', async () => {
    const wanted = FILES.filter((f) => MINILM_DEFAULT.includes(f.path) || f.path === 'README.md');
    await writeForeignSnapshot(box.hubCache, 'acme/minilm', commit, wanted);
    const check = async () => {
      const ls = await hearth(['ls']);
      assert.equal(ls.code, 0, ls.stderr);
      const rows = lines(ls.stdout).slice(1);
      assert.equal(rows.length, 2, ls.stdout);
      // NAME, then REF: the name is what commands and APIs take.
      assert.match(rows[0]!, /^minilm:latest\s+hf:acme\/minilm\s+main\s+onnx\/model\.onnx \(\+8 files\)\s+200\.\d KB/);
      assert.match(rows[1]!, /^minilm:readme\.md\s+hf:acme\/minilm\/README\.md\s+main\s+README\.md\s+9 B/);
      const json = JSON.parse((await hearth(['ls', '--json'])).stdout) as Array<{ ref: string; files?: string[] }>;
      assert.deepEqual(json.map((e) => [e.ref, e.files?.length]), [['hf:acme/minilm', 9], ['hf:acme/minilm/README.md', undefined]]);
    };
    await check();
    const pulled = await hearth(['pull', 'hf:acme/minilm'], { HEARTH_OFFLINE: '1' });
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.match(pulled.stdout, /up to date/);
    await check();
  });

  test('ls groups a foreign :variant snapshot as that variant', async () => {
    const wanted = FILES.filter((f) => f.path === 'onnx/model_quantized.onnx' || (MINILM_DEFAULT.includes(f.path) && f.path !== 'onnx/model.onnx'));
    await writeForeignSnapshot(box.hubCache, 'acme/minilm', commit, wanted);
    const json = JSON.parse((await hearth(['ls', '--json'])).stdout) as Array<{ ref: string; files?: string[] }>;
    assert.deepEqual(json.map((e) => [e.ref, e.files?.length]), [['hf:acme/minilm:q8', 9]]);
    assert.equal((await hearth(['pull', 'hf:acme/minilm:q8'], { HEARTH_OFFLINE: '1' })).code, 0, 'the line names a ref that resolves');
  });
});
