import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { startFakeHub, type FakeHub } from '../support/fake-hub.js';
import { runHearth, spawnHearth } from '../support/hearth-cli.js';
import { createSandbox, fixtureBytes, type Sandbox } from '../support/sandbox.js';

interface Health {
  status: string;
  model_cached: boolean;
  model_name: string | null;
  offline_mode: boolean;
  cache_dir: string;
  models: Array<{ name: string; state: string; cached: boolean }>;
}

describe('hearth serve', () => {
  let hub: FakeHub;
  let box: Sandbox;

  before(async () => {
    hub = await startFakeHub();
    hub.addRepo({ id: 'acme/s', files: [{ path: 's.gguf', content: fixtureBytes(2_000_000, 3) }] });
    box = await createSandbox(hub.url);
  });
  after(async () => {
    await box.cleanup();
    await hub.close();
  });

  test('answers /health at once while a preload pulls in the background, then drains on SIGTERM', async () => {
    hub.throttle(1_000_000);
    const server = spawnHearth(['serve', '--port', '0'], box.env({ HEARTH_PRELOAD: 'hf:acme/s/s.gguf' }));
    let address = '';
    for (let i = 0; i < 100 && !address; i++) {
      await sleep(100);
      address = /listening on (http:\/\/\S+)/.exec(server.output.stderr)?.[1] ?? '';
    }
    assert.ok(address, 'server printed its address');
    assert.ok(address.startsWith('http://127.0.0.1:'), 'binds loopback by default');

    const started = performance.now();
    const early = (await (await fetch(`${address}/health`)).json()) as Health;
    assert.ok(performance.now() - started < 1000, '/health never waits for the pull');
    assert.equal(early.model_name, 'hf:acme/s/s.gguf');
    assert.equal(early.cache_dir, box.hubCache);
    assert.equal(early.offline_mode, false);
    assert.ok(['missing', 'pulling'].includes(early.models[0]!.state), early.models[0]!.state);

    let health = early;
    for (let i = 0; i < 100 && !health.model_cached; i++) {
      await sleep(100);
      health = (await (await fetch(`${address}/health`)).json()) as Health;
    }
    assert.equal(health.model_cached, true);
    assert.equal(health.models[0]!.state, 'cached');
    const missing = await fetch(`${address}/nope`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'NOT_FOUND');

    server.kill('SIGTERM');
    const exit = await server.result;
    assert.equal(exit.code, 0, exit.stderr);
  });

  test('refuses a non-loopback bind without --insecure', async () => {
    const r = await runHearth(['serve', '--host', '0.0.0.0', '--port', '0'], box.env());
    assert.equal(r.code, 64);
    assert.match(r.stderr, /not a loopback address/);
  });
});
