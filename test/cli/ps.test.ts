import assert from 'node:assert/strict';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { formatUntil } from '../../src/cli/format.js';
import { killStrays, runHearth } from '../support/hearth-cli.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';
import { startTestServer, type TestServer } from '../support/test-server.js';

const API_KEY = 'ps-test-key-0123';

interface PsModel {
  name: string;
  size: number;
  expires_at: string;
  runtime: { device: string; threads: number; parallel: number };
}

/** A port nothing listens on: bound by the OS, then released. */
async function closedPort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe('hearth ps', () => {
  let server: TestServer;
  let box: Sandbox;
  let port: string;

  before(async () => {
    server = await startTestServer({ env: { HEARTH_API_KEY: API_KEY } });
    box = await createSandbox();
    port = new URL(server.url).port;
    const load = async (model: string, keepAlive: number | string) => {
      const response = await fetch(`${server.url}/api/embed`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
        body: JSON.stringify({ model, input: 'hello world', keep_alive: keepAlive }),
      });
      assert.equal(response.status, 200, await response.text());
    };
    await load('tiny-onnx', -1);
    await load('tiny-bert', '10m');
  });
  after(async () => {
    killStrays();
    await box.cleanup();
    await server.close();
  });

  test('prints a table of the loaded models: size, device, threads, parallel and when each unloads', async () => {
    const r = await runHearth(['ps', '--port', port], box.env({ HEARTH_API_KEY: API_KEY }));
    assert.equal(r.code, 0, r.stderr);
    const [header, ...lines] = r.stdout.trimEnd().split('\n');
    assert.match(header!, /^NAME\s+ID\s+SIZE\s+DEVICE\s+THREADS\s+PARALLEL\s+UNTIL$/);
    assert.equal(lines.length, 2, r.stdout);
    const onnx = lines.find((l) => l.startsWith('tiny-onnx'));
    const bert = lines.find((l) => l.startsWith('tiny-bert'));
    assert.match(onnx ?? '', /\s(\d+(\.\d)? [KMG]?B)\s+cpu\s+1\s+\d+\s+forever$/, r.stdout);
    assert.match(bert ?? '', /\s(\d+(\.\d)? [KMG]?B)\s+cpu\s+1\s+\d+\s+in \d+ minutes$/, r.stdout);
  });

  test('--json prints the server models array as it is', async () => {
    const r = await runHearth(['ps', '--port', port, '--json'], box.env({ HEARTH_API_KEY: API_KEY }));
    assert.equal(r.code, 0, r.stderr);
    const models = JSON.parse(r.stdout) as PsModel[];
    assert.ok(Array.isArray(models));
    const direct = (await (await fetch(`${server.url}/api/ps`, { headers: { authorization: `Bearer ${API_KEY}` } })).json()) as { models: PsModel[] };
    assert.deepEqual(models, direct.models);
    assert.deepEqual(models.map((m) => m.name).sort(), ['tiny-bert', 'tiny-onnx']);
    assert.equal(models[0]!.runtime.threads, 1);
  });

  test('the port comes from HEARTH_PORT when --port is not given', async () => {
    const r = await runHearth(['ps', '--json'], box.env({ HEARTH_API_KEY: API_KEY, HEARTH_PORT: port }));
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as PsModel[]).length, 2);
  });

  test('without the API key the server refuses, with a typed error and a hint', async () => {
    const r = await runHearth(['ps', '--port', port], box.env());
    assert.equal(r.code, 77, r.stderr);
    assert.match(r.stderr, /error\[UNAUTHORIZED\]/);
    assert.match(r.stderr, /hint: .*HEARTH_API_KEY/);
  });

  test('no server listening is SERVER_UNREACHABLE (exit 69), with a hint to start one', async () => {
    const free = await closedPort();
    const r = await runHearth(['ps', '--host', '127.0.0.1', '--port', String(free)], box.env());
    assert.equal(r.code, 69, r.stderr);
    assert.match(r.stderr, new RegExp(`error\\[SERVER_UNREACHABLE\\]: no hearth server at http://127\\.0\\.0\\.1:${free} \\(ECONNREFUSED\\)`));
    assert.match(r.stderr, /hint: start it with `hearth serve`/);
    assert.equal(r.stdout, '');
  });

  test('a bad --port is a usage error', async () => {
    const r = await runHearth(['ps', '--port', 'eighty'], box.env());
    assert.equal(r.code, 64, r.stderr);
    assert.match(r.stderr, /error\[USAGE\]: invalid port eighty/);
  });
});

describe('formatUntil', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  test('reads like ollama ps', () => {
    assert.equal(formatUntil('2318-08-23T00:00:00Z', now), 'forever');
    assert.equal(formatUntil('2026-01-01T00:04:59Z', now), 'in 5 minutes');
    assert.equal(formatUntil('2026-01-01T00:00:30Z', now), 'in 30 seconds');
    assert.equal(formatUntil('2026-01-01T05:00:00Z', now), 'in 5 hours');
    assert.equal(formatUntil('2026-01-05T00:00:00Z', now), 'in 4 days');
    assert.equal(formatUntil('2025-12-31T23:59:00Z', now), 'now');
    assert.equal(formatUntil(null, now), '-');
  });
});
