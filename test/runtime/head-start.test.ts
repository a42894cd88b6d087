import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startServeHeadStart } from '../../src/cli/serve-head-start.js';
import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { dropHeadStart, llamaRuntimeSettings, offerHeadStart, takeHeadStart } from '../../src/runtime/llama/head-start.js';
import { LlamaBackend } from '../../src/runtime/llama/llama-backend.js';
import { createModelFixtures, type ModelFixtures } from '../support/model-fixtures.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';

const SERVE = ['node', 'hearth', 'serve'];

describe("serve's llama.cpp head start", () => {
  let fixtures: ModelFixtures;
  let box: Sandbox;
  before(async () => {
    fixtures = await createModelFixtures();
    box = await createSandbox();
  });
  after(async () => {
    await dropHeadStart();
    await box.cleanup();
    await fixtures.cleanup();
  });

  const env = (extra: Record<string, string>) => box.env({ HEARTH_DEVICE: 'cpu', ...extra });
  const settingsOf = (extra: Record<string, string>) => llamaRuntimeSettings(loadConfig(env(extra)));

  test('a GGUF preload starts a runtime that a backend with the same settings takes, once, and loads with', async () => {
    const extra = { HEARTH_PRELOAD: fixtures.llama };
    await startServeHeadStart(SERVE, env(extra));
    const backend = new LlamaBackend({ ...settingsOf(extra), logger: silentLogger });
    try {
      const runtime = await backend.runtime();
      assert.equal(runtime.device, 'cpu');
      assert.equal(takeHeadStart(settingsOf(extra)), undefined, 'taken by the backend, so nobody else gets it');
      const model = await box.store().resolve(fixtures.llama);
      const loaded = await backend.load(model, { threads: 1, parallel: 1 });
      await loaded.dispose();
    } finally {
      await backend.dispose();
    }
  });

  test('an alias to a GGUF file counts; the runtime is kept for its own settings only, and one nobody took is disposed', async () => {
    const config = join(box.root, 'aliases.json');
    await writeFile(config, JSON.stringify({ aliases: { tiny: fixtures.llama } }));
    const extra = { HEARTH_PRELOAD: 'tiny', HEARTH_CONFIG: config };
    await startServeHeadStart(SERVE, env(extra));
    assert.equal(takeHeadStart({ ...settingsOf(extra), cpuVariant: 'x64' }), undefined, 'another CPU variant');
    assert.equal(takeHeadStart({ ...settingsOf(extra), device: 'vulkan' }), undefined, 'another device');
    const offered = takeHeadStart(settingsOf(extra));
    assert.ok(offered, 'offered for the settings it was started with');
    await (await offered).dispose();
    // One that nobody took, released by serve once its preloads settle.
    await startServeHeadStart(SERVE, env(extra));
    const untaken = takeHeadStart(settingsOf(extra))!;
    offerHeadStart(settingsOf(extra), untaken);
    await dropHeadStart();
    assert.equal((await untaken).llama.disposed, true, 'dropping disposes it');
    assert.equal(takeHeadStart(settingsOf(extra)), undefined, 'and nobody can take it');
  });

  const nothingFor: Array<[what: string, argv: string[], env: () => Record<string, string>]> = [
    ['another command', ['node', 'hearth', 'pull', 'x'], () => ({ HEARTH_PRELOAD: fixtures.llama })],
    ['serve --help', [...SERVE, '--help'], () => ({ HEARTH_PRELOAD: fixtures.llama })],
    ['an invalid configuration (the CLI reports it)', SERVE, () => ({ HEARTH_PRELOAD: fixtures.llama, HEARTH_PORT: 'not-a-port' })],
    ['an ONNX preload', SERVE, () => ({ HEARTH_PRELOAD: fixtures.onnxBert })],
    ['a name only the store can resolve', SERVE, () => ({ HEARTH_PRELOAD: 'hf:owner/repo' })],
    ['a preload that is not a GGUF file', SERVE, () => ({ HEARTH_PRELOAD: `${fixtures.llama}.txt` })],
    ['no preload', SERVE, () => ({})],
  ];
  for (const [what, argv, extra] of nothingFor) {
    test(`starts nothing for ${what}`, async () => {
      await startServeHeadStart(argv, env(extra()));
      assert.equal(takeHeadStart(settingsOf({})), undefined);
    });
  }
});
