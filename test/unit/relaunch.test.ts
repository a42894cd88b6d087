import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { launchers, launchersAlive, shouldRelaunch, type Launcher } from '../../src/cli/relaunch.js';
import { HAS_PROC } from '../support/processes.js';
import { missingRuntimeEnv, runtimeEnv } from '../../src/runtime/runtime-env.js';

const argv = (...args: string[]): string[] => ['node', 'hearth', ...args];

describe('shouldRelaunch', () => {
  for (const args of [
    ['serve', '--port', '0'],
    ['run', 'model', 'prompt'],
    ['embed', 'model', 'text'],
    ['serve'],
    ['memory', 'create', 'notes', '--model', 'm'],
    ['memory', 'add', 'notes', './docs'],
    ['memory', 'query', 'notes', 'text'],
    ['memory', 'stats', 'notes'],
    ['memory', 'diagnose', 'notes', 'text'],
  ]) {
    test(`relaunches for ${args.join(' ')}`, () => {
      assert.equal(shouldRelaunch(argv(...args), {}), true);
    });
  }

  test('finds the command after leading options', () => {
    assert.equal(shouldRelaunch(argv('--verbose', 'run', 'm', 'p'), {}), true);
    assert.equal(shouldRelaunch(argv('-v', '--verbose', 'embed', 'm', 'x'), {}), true);
  });

  for (const args of [['pull', 'org/model'], ['ls'], ['verify', '--repair'], ['gc'], ['doctor'], ['help', 'serve'], ['--verbose', 'ls'], ['memory', 'ls'], ['memory', 'rm', 'notes', 'a'], ['memory', 'drop', 'notes']]) {
    test(`does not relaunch for ${args.join(' ')}`, () => {
      assert.equal(shouldRelaunch(argv(...args), {}), false);
    });
  }

  test('does not relaunch with no command or only options', () => {
    assert.equal(shouldRelaunch(argv(), {}), false);
    assert.equal(shouldRelaunch(argv('--version'), {}), false);
    assert.equal(shouldRelaunch(argv('--help'), {}), false);
  });

  test('only the first positional is the command', () => {
    // "serve" as a model name or prompt of another command must not trigger it.
    assert.equal(shouldRelaunch(argv('pull', 'serve'), {}), false);
  });

  test('the interpreter and script (argv[0], argv[1]) are never the command', () => {
    assert.equal(shouldRelaunch(['serve', 'run', 'ls'], {}), false);
  });

  test('does not relaunch when the runtime env was already applied', () => {
    assert.equal(shouldRelaunch(argv('serve'), { HEARTH_RUNTIME_ENV_APPLIED: '1' }), false);
    assert.equal(shouldRelaunch(argv('run', 'm', 'p'), { HEARTH_RUNTIME_ENV_APPLIED: '1' }), false);
  });

  test('HEARTH_RUNTIME_ENV_APPLIED other than "1" does not count', () => {
    assert.equal(shouldRelaunch(argv('serve'), { HEARTH_RUNTIME_ENV_APPLIED: '0' }), true);
  });

  test('respects values the user already set for both variables', () => {
    assert.equal(shouldRelaunch(argv('serve'), { UV_THREADPOOL_SIZE: '16', GOMP_SPINCOUNT: '0' }), false);
  });

  test('still relaunches when only one variable is set', () => {
    assert.equal(shouldRelaunch(argv('serve'), { UV_THREADPOOL_SIZE: '16' }), true);
    assert.equal(shouldRelaunch(argv('serve'), { GOMP_SPINCOUNT: '0' }), true);
  });

  test('an empty value counts as unset', () => {
    assert.equal(shouldRelaunch(argv('serve'), { UV_THREADPOOL_SIZE: '', GOMP_SPINCOUNT: '0' }), true);
  });
});

describe('runtimeEnv', () => {
  test('UV_THREADPOOL_SIZE is one pool thread, so every decode reuses one OpenMP team', () => {
    assert.equal(runtimeEnv().UV_THREADPOOL_SIZE, '1');
  });

  test('sets a short GOMP_SPINCOUNT', () => {
    assert.match(runtimeEnv().GOMP_SPINCOUNT ?? '', /^\d+$/);
  });

  test('sets exactly the two launch-time variables', () => {
    assert.deepEqual(Object.keys(runtimeEnv()).sort(), ['GOMP_SPINCOUNT', 'UV_THREADPOOL_SIZE']);
  });
});

describe('missingRuntimeEnv', () => {
  test('an empty env is missing everything', () => {
    assert.deepEqual(missingRuntimeEnv({}), runtimeEnv());
  });

  test('omits keys the env already has, keeping the user value out of the result', () => {
    const missing = missingRuntimeEnv({ UV_THREADPOOL_SIZE: '16' });
    assert.deepEqual(Object.keys(missing), ['GOMP_SPINCOUNT']);
    assert.equal(missing.GOMP_SPINCOUNT, runtimeEnv().GOMP_SPINCOUNT);
    assert.deepEqual(Object.keys(missingRuntimeEnv({ GOMP_SPINCOUNT: '1' })), ['UV_THREADPOOL_SIZE']);
  });

  test('is empty when both are set', () => {
    assert.deepEqual(missingRuntimeEnv({ UV_THREADPOOL_SIZE: '1', GOMP_SPINCOUNT: '1', PATH: '/bin' }), {});
  });

  test('treats an empty value as missing', () => {
    assert.deepEqual(Object.keys(missingRuntimeEnv({ UV_THREADPOOL_SIZE: '', GOMP_SPINCOUNT: '1' })), ['UV_THREADPOOL_SIZE']);
  });

  test('does not modify the env it is given', () => {
    const env = { PATH: '/bin' };
    missingRuntimeEnv(env);
    assert.deepEqual(env, { PATH: '/bin' });
  });
});

/** Runs `launchers(process.env)` in a real process started as `sh -c` (as npm starts commands), and returns the shell's pid and the answer. */
async function launchersUnderShell(env: Record<string, string>, prefix: string[] = []): Promise<{ shell: number; chain: Launcher[] }> {
  const probe = `const { launchers } = await import(${JSON.stringify(new URL('../../src/cli/relaunch.ts', import.meta.url).href)}); process.stdout.write(JSON.stringify(launchers(process.env)));`;
  // "; exit" keeps the shell in the tree even where sh would exec a lone command.
  const [command, ...args] = [...prefix, 'sh', '-c', '"$@"; exit $?', 'sh', process.execPath, '--import', 'tsx', '--input-type=module', '-e', probe];
  const child = spawn(command!, args, { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  const [code] = (await once(child, 'close')) as [number | null];
  assert.equal(code, 0, out);
  return { shell: child.pid!, chain: JSON.parse(out) as Launcher[] };
}

describe('launchers: what hearth must not outlive', { skip: HAS_PROC ? false : 'needs /proc' }, () => {
  test('started from a shell, without a package manager (nohup, setsid), nothing: hearth outlives its parent', async () => {
    assert.deepEqual(launchers({}), []);
    assert.deepEqual((await launchersUnderShell({})).chain, []);
    assert.deepEqual((await launchersUnderShell({}, ['setsid'])).chain, []);
  });

  test('a relaunched child has its relaunching parent, with its start time', () => {
    const [parent, ...rest] = launchers({ HEARTH_RUNTIME_ENV_APPLIED: '1' });
    assert.deepEqual(rest, []);
    assert.equal(parent?.pid, process.ppid);
    assert.match(parent?.start ?? '', /^\d+$/);
  });

  test('under a package manager, every process from the parent shell up to the package manager', async () => {
    const { shell, chain } = await launchersUnderShell({ npm_lifecycle_event: 'npx' });
    assert.equal(chain[0]?.pid, shell, 'the sh -c that npm spawns');
    // This test process plays npm. Run under `npm test`, it carries the mark too, and the chain goes on up to npm.
    assert.equal(chain[1]?.pid, process.pid);
    for (const link of chain) assert.match(link.start ?? '', /^\d+$/);
  });

  test('alive while every launcher runs; not once one is gone or its pid belongs to another process', async () => {
    const [self] = launchers({ HEARTH_RUNTIME_ENV_APPLIED: '1' }, process.pid);
    assert.ok(self);
    const parent: Launcher = { pid: process.ppid, start: undefined };
    assert.equal(launchersAlive([]), true);
    assert.equal(launchersAlive([parent, self]), true);
    assert.equal(launchersAlive([{ pid: process.ppid + 1_000_000, start: undefined }]), false, 'a parent that is no longer the parent');
    assert.equal(launchersAlive([parent, { ...self, start: `${self.start}0` }]), false, 'a reused pid');
    const exited = spawn('true');
    await once(exited, 'close');
    assert.equal(launchersAlive([parent, { pid: exited.pid!, start: self.start }]), false, 'an exited process');
  });
});
