import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { waitFor } from '../support/wait.js';
import { after, before, beforeEach, describe, test } from 'node:test';
import { startFakeHub, type FakeHub } from '../support/fake-hub.js';
import { partialDownloads, runHearth, spawnHearth } from '../support/hearth-cli.js';
import { createSandbox, fixtureBytes, sha256, type Sandbox } from '../support/sandbox.js';

const BIG = fixtureBytes(4_000_000, 11);

/** Bytes a piece record (pieces.ts) says are written, over every record in the folder. */
async function recordedBytes(blobsDir: string): Promise<number> {
  let total = 0;
  for (const name of (await readdir(blobsDir).catch(() => [] as string[])).filter((n) => n.endsWith('.ranges'))) {
    const record = JSON.parse(await readFile(join(blobsDir, name), 'utf8').catch(() => '{"done":[]}')) as { done: number[] };
    total = Math.max(total, record.done.reduce((a, b) => a + b, 0));
  }
  return total;
}
const REF = 'hf:acme/big/big.Q4_K_M.gguf';

/** Real `hearth` processes against the fake hub: crashes, races between processes, offline. */
describe('hearth pull across processes', () => {
  let hub: FakeHub;
  let box: Sandbox;
  const blobsDir = () => join(box.hubCache, 'models--acme--big', 'blobs');

  before(async () => {
    hub = await startFakeHub();
    hub.addRepo({ id: 'acme/big', files: [{ path: 'big.Q4_K_M.gguf', content: BIG }] });
  });
  after(() => hub.close());
  beforeEach(async () => {
    await box?.cleanup();
    box = await createSandbox(hub.url);
    hub.reset();
  });

  test('kill -9 mid-pull, then a second pull resumes and fetches less than the file', async () => {
    hub.throttle(1_000_000);
    const child = spawnHearth(['pull', REF], box.env());
    let partial = 0;
    try {
      await waitFor(async () => (partial = (await partialDownloads(blobsDir())).largest) >= 1_000_000, { what: 'a megabyte of partial download' });
    } finally {
      child.kill('SIGKILL');
    }
    const killed = await child.result;
    assert.equal(killed.signal, 'SIGKILL');
    assert.ok(partial >= 1_000_000, `partial reached only ${partial} bytes`);

    hub.throttle(null);
    hub.resetStats();
    const second = await runHearth(['pull', REF], box.env());
    assert.equal(second.code, 0, second.stderr);
    const sent = hub.stats.byPath.get('big.Q4_K_M.gguf')?.bytesSent ?? 0;
    assert.ok(sent < BIG.length - 900_000, `second pull fetched ${sent} of ${BIG.length} bytes`);
    assert.equal(hub.stats.rangeGets, 1);
    const blob = await readFile(join(blobsDir(), sha256(BIG)));
    assert.equal(sha256(blob), sha256(BIG));
  });

  test('kill -9 mid-pull in parallel ranges: the piece record survives, and the next pull fetches only the missing bytes', async () => {
    const ranged = { HEARTH_PULL_CONNECTIONS: '4', HEARTH_PULL_PIECE_SIZE: '256KiB' };
    hub.throttle(500_000);
    const child = spawnHearth(['pull', REF], box.env(ranged));
    let recorded = 0;
    try {
      await waitFor(async () => (recorded = await recordedBytes(blobsDir())) >= 1_000_000, { what: 'a megabyte recorded in the piece record' });
    } finally {
      child.kill('SIGKILL');
    }
    assert.equal((await child.result).signal, 'SIGKILL');

    hub.throttle(null);
    hub.resetStats();
    const second = await runHearth(['pull', REF], box.env(ranged));
    assert.equal(second.code, 0, second.stderr);
    const sent = hub.stats.byPath.get('big.Q4_K_M.gguf')?.bytesSent ?? 0;
    assert.ok(sent <= BIG.length - recorded, `second pull fetched ${sent} of ${BIG.length} bytes, ${recorded} were recorded`);
    assert.equal(sha256(await readFile(join(blobsDir(), sha256(BIG)))), sha256(BIG));
    assert.deepEqual((await readdir(blobsDir())).filter((n) => n !== sha256(BIG)), [], 'no partial or record left');
  });

  test('4 concurrent pull processes download the file exactly once', async () => {
    hub.throttle(2_000_000);
    const results = await Promise.all(Array.from({ length: 4 }, () => runHearth(['pull', REF], box.env())));
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const path = hub.stats.byPath.get('big.Q4_K_M.gguf');
    assert.equal(path?.gets, 1, 'one body GET in total');
    assert.equal(path?.bytesSent, BIG.length);
    const lines = results.map((r) => r.stdout.trim());
    assert.ok(lines.every((l) => l.includes(join('snapshots'))), lines.join('\n'));
  });

  test('offline with the model cached: works, and the hub sees zero requests', async () => {
    assert.equal((await runHearth(['pull', REF], box.env())).code, 0);
    const flags: Array<Record<string, string>> = [{ HEARTH_OFFLINE: '1' }, { HF_HUB_OFFLINE: '1' }];
    for (const flag of flags) {
      hub.resetStats();
      const r = await runHearth(['pull', REF], box.env(flag));
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /up to date/);
      assert.equal(hub.stats.requests, 0);
    }
  });

  test('offline without the model: its own exit code, and an error naming ref, cache dir and fix', async () => {
    const r = await runHearth(['pull', REF], box.env({ HEARTH_OFFLINE: '1' }));
    assert.equal(r.code, 68);
    assert.match(r.stderr, /OFFLINE_NOT_CACHED/);
    assert.ok(r.stderr.includes(REF));
    assert.ok(r.stderr.includes(box.hubCache));
    assert.match(r.stderr, /hearth pull hf:acme\/big\/big\.Q4_K_M\.gguf/);
    assert.match(r.stderr, /hearth import/);
    assert.equal(hub.stats.requests, 0);
  });

  test('traversal refs are rejected before anything touches disk or network', async () => {
    for (const ref of ['hf:acme/big/../../../etc/passwd', 'hf:/etc/passwd', 'hf:acme/big//etc/passwd', 'hf:acme/big/x.gguf@../../refs', 'hf:../../x/y']) {
      const r = await runHearth(['pull', ref], box.env());
      assert.equal(r.code, 64, `${ref}: ${r.stderr}`);
      assert.match(r.stderr, /REF_UNSAFE/, ref);
    }
    assert.equal(hub.stats.requests, 0);
    assert.deepEqual(await readdir(box.hubCache).catch(() => []), []);
  });
});
