import assert from 'node:assert/strict';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { isHearthError } from '../../src/errors/index.js';
import { startFakeHub, type FakeHub } from '../support/fake-hub.js';
import { createSandbox, fixtureBytes, sha256, type Sandbox } from '../support/sandbox.js';

const PIECE = 256 * 1024;
const MODEL = fixtureBytes(12 * PIECE + 12_345, 21);
const PIECES = Math.ceil(MODEL.length / PIECE);
const REF = 'hf:acme/big/big.Q8_0.gguf';
const RANGED = { HEARTH_PULL_CONNECTIONS: '4', HEARTH_PULL_PIECE_SIZE: String(PIECE) };

/**
 * A large file pulled over parallel byte ranges: every piece fetched once,
 * each fault on one range (a dropped connection, a wrong byte, a 500) mended
 * without publishing anything corrupt, and a server that ignores ranges
 * served as one stream.
 */
describe('pull in parallel ranges', () => {
  let hub: FakeHub;
  let box: Sandbox;
  const repoDir = () => join(box.hubCache, 'models--acme--big');
  const blob = () => join(repoDir(), 'blobs', sha256(MODEL));
  const leftovers = async () => (await readdir(join(repoDir(), 'blobs')).catch(() => [] as string[])).filter((n) => n !== sha256(MODEL));

  before(async () => {
    hub = await startFakeHub();
    hub.addRepo({ id: 'acme/big', files: [{ path: 'big.Q8_0.gguf', content: MODEL, lfs: true }] });
  });
  after(() => hub.close());
  beforeEach(async () => {
    await box?.cleanup();
    box = await createSandbox(hub.url);
    hub.reset();
  });

  test('fetches each piece once, over several connections, and publishes the verified file', async () => {
    const result = await box.store(RANGED).pull(REF);
    assert.equal(result.received, MODEL.length);
    assert.deepEqual(await readFile(blob()), MODEL);
    assert.equal(hub.stats.rangeGets, PIECES, 'one ranged GET per piece');
    assert.equal(hub.stats.bytesSent, MODEL.length, 'no byte sent twice');
    assert.deepEqual(await leftovers(), [], 'no partial or piece record left behind');
  });

  test('one connection pulls as a single stream, as before', async () => {
    await box.store({ ...RANGED, HEARTH_PULL_CONNECTIONS: '1' }).pull(REF);
    assert.deepEqual(await readFile(blob()), MODEL);
    assert.equal(hub.stats.rangeGets, 0);
    assert.equal(hub.stats.bodyGets, 1);
  });

  test('a range whose connection drops is resumed from the bytes it already wrote', async () => {
    hub.inject({ kind: 'drop', afterBytes: 100_000 }, { rangeStart: 5 * PIECE });
    await box.store(RANGED).pull(REF);
    assert.deepEqual(await readFile(blob()), MODEL);
    assert.equal(hub.stats.rangeGets, PIECES + 1, 'the dropped piece was asked for once more');
    assert.ok(hub.stats.bytesSent < MODEL.length + PIECE, `only the rest of the piece was sent again (${hub.stats.bytesSent} bytes for ${MODEL.length})`);
  });

  test('a 500 on one range is retried for that range alone', async () => {
    hub.inject({ kind: 'status', status: 500 }, { rangeStart: 3 * PIECE, method: 'GET' });
    await box.store(RANGED).pull(REF);
    assert.deepEqual(await readFile(blob()), MODEL);
    assert.equal(hub.stats.bytesSent, MODEL.length);
  });

  test('a wrong byte in one range fails the digest: the file is fetched again, and the wrong bytes are never published', async () => {
    hub.inject({ kind: 'corrupt', byte: 1000 }, { rangeStart: 7 * PIECE });
    const result = await box.store(RANGED).pull(REF);
    assert.equal(result.primary.digest, sha256(MODEL));
    assert.deepEqual(await readFile(blob()), MODEL);
    assert.equal(hub.stats.bytesSent, 2 * MODEL.length, 'the whole file, twice: a digest cannot say which piece was wrong');
  });

  test('a range that is wrong on every try ends in DIGEST_MISMATCH, with nothing published and nothing kept', async () => {
    hub.inject({ kind: 'corrupt', byte: 7, times: Infinity }, { rangeStart: 2 * PIECE });
    await assert.rejects(box.store({ ...RANGED, HEARTH_PULL_RETRIES: '1' }).pull(REF), (error: unknown) => isHearthError(error, 'DIGEST_MISMATCH'));
    assert.equal(await stat(blob()).catch(() => undefined), undefined, 'no blob under the expected digest');
    assert.deepEqual(await readdir(join(repoDir(), 'snapshots')).catch(() => []), [], 'no snapshot names the file');
    assert.deepEqual(await leftovers(), [], 'the wrong bytes and their record are deleted');
  });

  test('an aborted pull keeps its pieces, and the next pull asks only for what is missing', async () => {
    // Slow enough that the abort lands mid-transfer; the test waits on bytes, not on time.
    hub.throttle(2 * PIECE);
    const controller = new AbortController();
    const store = box.store(RANGED);
    const pulling = store.pull(REF, {
      signal: controller.signal,
      onProgress: (event) => {
        if (event.status === 'downloading' && event.completed >= 4 * PIECE) controller.abort();
      },
    });
    await assert.rejects(pulling, (error: unknown) => isHearthError(error, 'ABORTED'));
    const kept = await leftovers();
    assert.equal(kept.filter((n) => n.endsWith('.incomplete')).length, 1, kept.join(', '));
    assert.equal(kept.filter((n) => n.endsWith('.ranges')).length, 1, 'the piece record is kept beside the partial');
    const sentBefore = hub.stats.bytesSent;
    hub.throttle(null);
    hub.resetStats();
    await box.store(RANGED).pull(REF);
    assert.deepEqual(await readFile(blob()), MODEL);
    assert.ok(hub.stats.bytesSent <= MODEL.length - 4 * PIECE + 4 * 64 * 1024, `resumed: ${hub.stats.bytesSent} bytes sent after ${sentBefore}`);
    assert.deepEqual(await leftovers(), []);
  });

  test('a server that ignores ranges gets the whole file as one stream', async () => {
    const plain = await startFakeHub({ ranges: false });
    try {
      plain.addRepo({ id: 'acme/big', files: [{ path: 'big.Q8_0.gguf', content: MODEL, lfs: true }] });
      const local = await createSandbox(plain.url);
      try {
        await local.store(RANGED).pull(REF);
        assert.deepEqual(await readFile(join(local.hubCache, 'models--acme--big', 'blobs', sha256(MODEL))), MODEL);
        assert.equal(plain.stats.bodyGets, 1, 'the probe got the whole file, and no other range was asked for');
        assert.equal(plain.stats.bytesSent, MODEL.length);
      } finally {
        await local.cleanup();
      }
    } finally {
      await plain.close();
    }
  });
});
