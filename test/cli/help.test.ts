import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { COMMANDS as COMMAND_TABLE } from '../../src/cli/command-table.js';
import { ENV_VARS } from '../../src/config/env-vars.js';
import { runHearth } from '../support/hearth-cli.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';

const COMMANDS = ['serve', 'ps', 'run', 'embed', 'enrich', 'pull', 'ls', 'rm', 'create', 'cp', 'verify', 'gc', 'export', 'import', 'worker', 'doctor'];

describe('--help', () => {
  let box: Sandbox;
  before(async () => {
    box = await createSandbox();
  });
  after(() => box.cleanup());

  for (const command of COMMANDS) {
    test(`hearth ${command} --help prints its own help and exits 0`, async () => {
      const r = await runHearth([command, '--help'], box.env());
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^Usage: hearth ${command}\\b`), r.stdout);
    });
  }

  test('the command table names each command as its definition does, aliases included', async () => {
    for (const entry of COMMAND_TABLE) {
      const command = (await entry.load())(() => async () => undefined);
      assert.deepEqual([command.name(), ...command.aliases()], entry.names);
    }
  });

  test('hearth --help lists every command, though a command line loads only its own', async () => {
    const r = await runHearth(['--help'], box.env());
    assert.equal(r.code, 0, r.stderr);
    for (const entry of COMMAND_TABLE) assert.match(r.stdout, new RegExp(`^  ${entry.names[0]}\\b`, 'm'), `${entry.names[0]} is missing`);
    const typo = await runHearth(['serv'], box.env());
    assert.equal(typo.code, 64);
    assert.match(typo.stderr, /Did you mean serve\?/);
  });

  test('hearth serve --help says where the config file is read from and lists the environment', async () => {
    const r = await runHearth(['serve', '--help'], box.env());
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /HEARTH_CONFIG/);
    assert.match(r.stdout, /\$HEARTH_HOME\/config\.json/);
    for (const name of ['HEARTH_MAX_INPUTS', 'HEARTH_MAX_TOKENS', 'HEARTH_REQUEST_TIMEOUT', 'HEARTH_DRAIN_TIMEOUT', 'HEARTH_ALLOWED_HOSTS', 'HEARTH_LOG_REQUESTS', 'HEARTH_LOG_FORMAT', 'HEARTH_LOAD_WAIT', 'HEARTH_VERIFY_ON_LOAD']) {
      assert.match(r.stdout, new RegExp(`\\b${name}\\b`), `${name} is missing`);
    }
    for (const name of ENV_VARS.flatMap((v) => v.names)) assert.ok(r.stdout.includes(name), `${name} is missing`);
    assert.match(r.stdout, /HEARTH_MAX_QUEUE\s+requests queued or running per model before\s+503 \(default 512; config key\s+server\.maxQueue\)/);
  });

  test('hearth ps --help names its options', async () => {
    const r = await runHearth(['ps', '--help'], box.env());
    assert.equal(r.code, 0, r.stderr);
    for (const option of ['--host', '--port', '--json']) assert.ok(r.stdout.includes(option), `${option} is missing`);
  });
});
