import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { waitFor, waitForOutput } from '../support/wait.js';
import { startFakeHub } from '../support/fake-hub.js';
import { killStrays, spawnHearth } from '../support/hearth-cli.js';
import { createModelFixtures, type ModelFixtures } from '../support/model-fixtures.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';

describe('hearth serve shutdown', () => {
  let fixtures: ModelFixtures;
  let box: Sandbox;
  before(async () => {
    fixtures = await createModelFixtures();
    box = await createSandbox();
  });
  after(async () => {
    killStrays();
    await box.cleanup();
    await fixtures.cleanup();
  });

  test('SIGTERM (even twice) stops accepting, lets in-flight requests finish, then exits 0', async () => {
    // A hub that never answers holds one request open for as long as the test wants: the drain cannot end
    // before the test has sent both signals, however fast or slow the machine is.
    const hub = await startFakeHub();
    hub.inject({ kind: 'silent', times: Infinity });
    const config = join(box.root, 'config.json');
    await writeFile(config, JSON.stringify({ aliases: { tiny: fixtures.llama } }));
    const server = spawnHearth(
      ['serve', '--port', '0'],
      box.env({ HEARTH_CONFIG: config, HEARTH_THREADS: '1', HEARTH_PRELOAD: 'tiny', HF_ENDPOINT: hub.url, HEARTH_PULL_TIMEOUT: '10m', HEARTH_PULL_RETRIES: '0' }),
    );
    const url = (await waitForOutput(server, /listening on (http:\/\/\S+)/))[1]!;
    await waitFor(async () => (await fetch(`${url}/ready`)).status === 200, { what: '/ready' });
    const held = await fetch(`${url}/api/pull`, { method: 'POST', body: JSON.stringify({ model: 'hf:acme/never/m.gguf' }) });
    const heldReader = held.body!.getReader();
    await heldReader.read(); // 'pulling manifest': the request is in flight
    await waitFor(() => hub.stats.requests > 0, { what: 'the pull to reach the hub' });

    const response = await fetch(`${url}/api/generate`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'tiny', prompt: 'a long story', raw: true, options: { num_predict: 300 } }),
    });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const first = await reader.read();
    text += decoder.decode(first.value, { stream: true });
    server.kill('SIGTERM');
    await waitForOutput(server, /draining/);
    // One Ctrl-C reaches a relaunched server twice (terminal and launcher): a second signal must not cut the drain short.
    server.kill('SIGTERM');
    await waitForOutput(server, /already draining/);
    const refused = await fetch(`${url}/health`).then(
      (r) => r.status,
      () => 'refused',
    );
    assert.ok(refused === 'refused' || refused === 503, `new requests are not served while draining (got ${refused})`);
    // Let the held request end (its hub goes away), which ends the drain.
    await hub.close();
    while (!(await heldReader.read()).done);
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) break;
      text += decoder.decode(chunk.value, { stream: true });
    }
    const lines = text.trim().split('\n').map((l) => JSON.parse(l) as { done: boolean; eval_count?: number });
    assert.equal(lines.at(-1)!.done, true, 'the in-flight generation completed');
    assert.equal(lines.at(-1)!.eval_count, 300);
    const exit = await server.result;
    assert.equal(exit.code, 0, exit.stderr);
    assert.match(exit.stderr, /draining/);
  });
});
