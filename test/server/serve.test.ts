import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startFakeHub, type FakeHub } from '../support/fake-hub.js';
import { killStrays, runHearth, spawnHearth } from '../support/hearth-cli.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';
import { waitFor, waitForOutput } from '../support/wait.js';
import { writeBertFixture } from '../support/gguf-fixtures.js';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer as createNetServer, type AddressInfo } from 'node:net';

interface Health {
  status: string;
  model_cached: boolean;
  model_loaded: boolean;
  device: string | null;
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
    box = await createSandbox(hub.url);
    const model = join(box.root, 'fixture.gguf');
    await writeBertFixture(model, { seed: 5, context: 128 });
    hub.addRepo({ id: 'acme/s', files: [{ path: 's.gguf', content: await readFile(model) }] });
  });
  after(async () => {
    killStrays();
    await box.cleanup();
    await hub.close();
  });

  test('answers /health at once while a preload pulls in the background, then drains on SIGTERM', { timeout: 300_000 }, async () => {
    hub.throttle(200_000);
    const server = spawnHearth(['serve', '--port', '0'], box.env({ HEARTH_PRELOAD: 'hf:acme/s/s.gguf' }));
    const address = (await waitForOutput(server, /listening on (http:\/\/\S+)/))[1]!;
    assert.ok(address.startsWith('http://127.0.0.1:'), 'binds loopback by default');

    // Answered while the throttled pull is still running: /health never waits for it.
    const early = (await (await fetch(`${address}/health`)).json()) as Health;
    assert.equal(early.model_name, 's:latest', 'the preload is shown by its name');
    assert.equal(early.cache_dir, box.hubCache);
    assert.equal(early.offline_mode, false);
    assert.ok(['missing', 'pulling'].includes(early.models[0]!.state), early.models[0]!.state);

    const states = new Set<string>();
    const health = await waitFor(
      async () => {
        const h = (await (await fetch(`${address}/health`)).json()) as Health;
        states.add(h.models[0]!.state);
        return h.model_loaded && h;
      },
      { what: 'the preload to be loaded' },
    );
    assert.equal(health.model_cached, true);
    assert.equal(health.model_loaded, true);
    assert.equal(health.device, 'cpu');
    assert.equal(health.models[0]!.state, 'ready');
    assert.ok(states.has('pulling') || early.models[0]!.state === 'pulling', `saw ${[...states]}`);
    const missing = await fetch(`${address}/nope`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'ROUTE_NOT_FOUND');

    server.kill('SIGTERM');
    const exit = await server.result;
    assert.equal(exit.code, 0, exit.stderr);
  });

  test('a port already in use is a clear usage error', async () => {
    const blocker = createNetServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const port = (blocker.address() as AddressInfo).port;
      const r = await runHearth(['serve', '--port', String(port)], box.env());
      assert.equal(r.code, 64);
      assert.match(r.stderr, /already in use/);
    } finally {
      blocker.close();
    }
  });

  test('refuses a non-loopback bind without --insecure', async () => {
    const r = await runHearth(['serve', '--host', '0.0.0.0', '--port', '0'], box.env());
    assert.equal(r.code, 64);
    assert.match(r.stderr, /not a loopback address/);
  });
});
