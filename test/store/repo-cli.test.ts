import assert from 'node:assert/strict';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { waitFor } from '../support/wait.js';
import { after, before, beforeEach, describe, test } from 'node:test';
import { startFakeHub, type FakeFile, type FakeHub } from '../support/fake-hub.js';
import { partialDownloads, runHearth, spawnHearth } from '../support/hearth-cli.js';
import { createSandbox, fixtureBytes, sha256, type Sandbox } from '../support/sandbox.js';
import { minilmFiles, supportFiles } from './repo-fixtures.js';

const BIG: FakeFile[] = [
  { path: 'onnx/model.onnx', content: fixtureBytes(1_000_000, 51) },
  { path: 'onnx/model.onnx_data', content: fixtureBytes(3_000_000, 52) },
  ...supportFiles(),
];

/** `hearth pull hf:<owner>/<repo>` and friends, as real processes. */
describe('hearth CLI with whole-repo refs', () => {
  let hub: FakeHub;
  let box: Sandbox;
  let bigCommit: string;
  const hearth = (args: string[], env: Record<string, string> = {}) => runHearth(args, box.env(env));

  before(async () => {
    hub = await startFakeHub();
    hub.addRepo({ id: 'acme/minilm', files: minilmFiles() });
    bigCommit = hub.addRepo({ id: 'acme/big-onnx', files: BIG }).commit;
  });
  after(() => hub.close());
  beforeEach(async () => {
    await box?.cleanup();
    box = await createSandbox(hub.url);
    hub.reset();
  });

  test('pull, ls, rm of hf:owner/repo', async () => {
    const pulled = await hearth(['pull', 'hf:acme/minilm']);
    assert.equal(pulled.code, 0, pulled.stderr);
    assert.match(pulled.stdout, /^hf:acme\/minilm\t\S+\/snapshots\/[0-9a-f]{40}\/onnx\/model\.onnx\t\d+\.\d KB\tdownloaded /);
    const ls = await hearth(['ls']);
    assert.match(ls.stdout, /hf:acme\/minilm\s+main\s+onnx\/model\.onnx \(\+8 files\)\s+200\.\d KB/);
    assert.equal(ls.stdout.trim().split('\n').length, 2, `one line for the model:\n${ls.stdout}`);
    const json = JSON.parse((await hearth(['ls', '--json'])).stdout) as Array<{ ref: string; files: string[] }>;
    assert.deepEqual(json.map((e) => [e.ref, e.files.length]), [['hf:acme/minilm', 9]]);
    const rm = await hearth(['rm', 'hf:acme/minilm']);
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal((await hearth(['pull', 'hf:acme/minilm'], { HEARTH_OFFLINE: '1' })).code, 68);
  });

  test('kill -9 mid-pull at a commit hash: nothing resolvable, then the next pull resumes blob by blob', async () => {
    const ref = `hf:acme/big-onnx@${bigCommit}`;
    const blobs = join(box.hubCache, 'models--acme--big-onnx', 'blobs');
    hub.throttle(1_500_000);
    const child = spawnHearth(['pull', ref], box.env());
    let partial = 0;
    let firstDone = false;
    try {
      await waitFor(
        async () => {
          const { names, largest } = await partialDownloads(blobs);
          firstDone = names.includes(sha256(BIG[0]!.content));
          partial = largest;
          return firstDone && partial >= 500_000;
        },
        { what: 'the first blob done and the second half a megabyte in' },
      );
    } finally {
      child.kill('SIGKILL');
    }
    assert.equal((await child.result).signal, 'SIGKILL');
    assert.ok(firstDone && partial >= 500_000, `killed with the graph ${firstDone ? 'done' : 'missing'} and ${partial} bytes of its data`);
    assert.equal(await stat(join(box.hubCache, 'models--acme--big-onnx', 'snapshots')).catch(() => undefined), undefined);

    hub.throttle(null);
    hub.resetStats();
    const offline = await hearth(['pull', ref], { HEARTH_OFFLINE: '1' });
    assert.equal(offline.code, 68, 'a half-pulled model is not cached');
    assert.equal(hub.stats.requests, 0);
    const resumed = await hearth(['pull', ref, '--json']);
    assert.equal(resumed.code, 0, resumed.stderr);
    const [result] = JSON.parse(resumed.stdout) as Array<{ received: number; files: unknown[] }>;
    assert.equal(result!.files.length, 2 + supportFiles().length);
    assert.equal(hub.stats.byPath.get('onnx/model.onnx')?.gets, undefined, 'the finished blob is not fetched again');
    assert.ok((hub.stats.byPath.get('onnx/model.onnx_data')?.bytesSent ?? 0) < 3_000_000 - 400_000, 'the partial blob resumes');
    assert.equal(hub.stats.rangeGets, 1);
    assert.equal((await hearth(['pull', ref], { HEARTH_OFFLINE: '1' })).code, 0);
  });

  test('a local model directory: pull, ls, verify, rm', async () => {
    const dir = join(box.root, 'models', 'minilm');
    const files: Record<string, Buffer> = { 'onnx/model.onnx': fixtureBytes(5000, 61), ...Object.fromEntries(supportFiles().map((f) => [f.path, f.content])) };
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), content);
    }
    assert.equal((await hearth(['pull', dir])).code, 0);
    assert.match((await hearth(['ls'])).stdout, new RegExp(`${dir}\\s+-\\s+onnx/model\\.onnx \\(\\+8 files\\)`));
    const verify = await hearth(['verify', dir]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.match(verify.stdout, /9 checked, 0 corrupt/);
    assert.equal((await hearth(['rm', dir])).code, 0);
    assert.match((await hearth(['ls'])).stdout, /no models stored/);
    assert.ok((await stat(join(dir, 'onnx', 'model.onnx'))).isFile());
  });
});
