import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { isHearthError } from '../../src/errors/index.js';
import { startFakeHub, type FakeHub } from '../support/fake-hub.js';
import { runHearth } from '../support/hearth-cli.js';
import { createSandbox, fixtureBytes, sha256, type Sandbox } from '../support/sandbox.js';
import { supportFiles } from './repo-fixtures.js';

const GRAPH = fixtureBytes(50_000, 81);
/** Safety net only: each case must end in a few seconds; before the fix each hung for minutes. */
const SAFETY = { timeout: 60_000 };

/**
 * Issue 12 #9: HEARTH_PULL_TIMEOUT bounded only a transfer that stalled
 * mid-body. A hub that accepts the connection and never answers, or stalls
 * before its headers, must also give HUB_UNAVAILABLE after the retries, for
 * every kind of hub request: the listing, the metadata HEAD and the download.
 */
describe('a hub that does not answer', () => {
  let hub: FakeHub;
  let box: Sandbox;
  const store = () => box.store({ HEARTH_PULL_TIMEOUT: '1s', HEARTH_PULL_RETRIES: '1' });

  before(async () => {
    hub = await startFakeHub();
    hub.addRepo({ id: 'acme/enc', files: [{ path: 'onnx/model.onnx', content: GRAPH }, ...supportFiles(3)] });
  });
  after(() => hub.close());
  beforeEach(async () => {
    await box?.cleanup();
    box = await createSandbox(hub.url);
    hub.reset();
  });

  test('silent on every request: the listing of hf:<owner>/<repo> times out, is retried, then HUB_UNAVAILABLE', SAFETY, async () => {
    hub.inject({ kind: 'silent', times: Infinity });
    const error = await store().pull('hf:acme/enc').catch((e: unknown) => e);
    assert.ok(isHearthError(error, 'HUB_UNAVAILABLE'), String(error));
    assert.match(error.message, /no response from http:\/\/127\.0\.0\.1:\d+ within 1000 ms/);
    assert.equal(hub.stats.treeGets, 2, 'one try and one retry');
  });

  test('silent on the metadata HEAD of a single file', SAFETY, async () => {
    hub.inject({ kind: 'silent', times: Infinity }, { method: 'HEAD' });
    const error = await store().pull('hf:acme/enc/config.json').catch((e: unknown) => e);
    assert.ok(isHearthError(error, 'HUB_UNAVAILABLE'), String(error));
    assert.equal(hub.stats.heads, 2);
  });

  test('a stall before the headers of the download GET', SAFETY, async () => {
    hub.inject({ kind: 'stall-headers', ms: 120_000, times: Infinity }, { path: 'onnx/model.onnx', method: 'GET' });
    const error = await store().pull('hf:acme/enc/onnx/model.onnx').catch((e: unknown) => e);
    assert.ok(isHearthError(error, 'HUB_UNAVAILABLE'), String(error));
    assert.equal(hub.stats.bodyGets, 0, 'no byte of the body ever came');
  });

  test('a stall before the headers of the listing, once: the retry succeeds', SAFETY, async () => {
    hub.inject({ kind: 'stall-headers', ms: 120_000 }, { method: 'GET', path: '' });
    // The timeout is also the deadline of the requests that must succeed, so it is generous here; the stall only has to outlast it.
    const pulled = await box.store({ HEARTH_PULL_TIMEOUT: '10s', HEARTH_PULL_RETRIES: '1' }).pull('hf:acme/enc');
    assert.equal(pulled.primary.digest, sha256(GRAPH));
    assert.equal(hub.stats.treeGets, 2);
  });

  test('hearth pull against a silent hub exits 69 with the cached copy absent', SAFETY, async () => {
    hub.inject({ kind: 'silent', times: Infinity });
    const r = await runHearth(['pull', 'hf:acme/enc'], box.env({ HEARTH_PULL_TIMEOUT: '1s', HEARTH_PULL_RETRIES: '0' }));
    assert.equal(r.code, 69, r.stderr);
    assert.match(r.stderr, /HUB_UNAVAILABLE/);
  });

  test('a cached model still serves when the hub goes silent', SAFETY, async () => {
    await box.store().pull('hf:acme/enc');
    hub.inject({ kind: 'silent', times: Infinity });
    const cached = await store().pull('hf:acme/enc');
    assert.equal(cached.upToDate, true);
  });
});
