import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { killStrays, spawnHearth } from '../support/hearth-cli.js';
import { createModelFixtures } from '../support/model-fixtures.js';
import { cmdline, descendants, HAS_PROC, isGone } from '../support/processes.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';
import { waitFor, waitForOutput } from '../support/wait.js';

/*
 * SIGTERM and SIGINT must reach `hearth serve` through every launcher, and a launcher that
 * dies must not leave it running. npm 11 (`npx`, `npm exec`, `npm start`) runs a command as
 * `sh -c '<command>'` and forwards SIGINT and SIGTERM to that shell only
 * (@npmcli/run-script's signal-manager). dash dies of SIGTERM and leaves hearth orphaned,
 * which hearth notices (src/cli/relaunch.ts); it holds SIGINT back until its child exits,
 * so a SIGINT sent to npx alone never reaches hearth (Ctrl-C signals the whole foreground
 * group, hearth included). `npm start` execs, so npm signals hearth itself.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ENTRY = join(ROOT, 'src/cli/entry.ts');
const DRAINING = 'shutting down: draining in-flight requests';

/** `npx hearth` and `npm start` run bin/hearth.js, which loads dist/: only meaningful when dist/ was built from this src/. */
function staleDist(): string | undefined {
  const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [join(dir, e.name)] : []));
  for (const source of walk(join(ROOT, 'src'))) {
    const built = join(ROOT, 'dist', relative(join(ROOT, 'src'), source).replace(/\.ts$/, '.js'));
    const builtAt = (() => {
      try {
        return statSync(built).mtimeMs;
      } catch {
        return -1;
      }
    })();
    if (builtAt < statSync(source).mtimeMs) return `dist/ is older than ${relative(ROOT, source)}: run npm run build`;
  }
  return undefined;
}

/** The environment a person has: no npm variables from the `npm test` that may be running this file, no runtime variables (so hearth relaunches itself). */
function launcherEnv(box: Sandbox): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || /^(npm_|HEARTH_|HF_|UV_THREADPOOL_SIZE$|GOMP_SPINCOUNT$|NODE_OPTIONS$)/i.test(key)) continue;
    env[key] = value;
  }
  // npm keeps its own cache and settings in the real HOME; hearth's state stays in the sandbox.
  return { ...env, ...box.env({ HEARTH_OFFLINE: '1', HEARTH_LOG_LEVEL: 'info' }), HOME: process.env.HOME ?? box.root };
}

interface Started {
  pid: number;
  /** The launcher and everything below it while the server was listening. */
  tree: Array<{ pid: number; cmdline: string }>;
  address: string;
  /** All of stderr, once every process holding it has exited. */
  stderr: Promise<string>;
  output: () => string;
}

/** Processes a test started through a launcher; a failed test must not leave them serving (or holding this file's stderr pipes open). */
const launched = new Map<number, string>();

function killLeftovers(): void {
  for (const [pid, command] of launched) {
    // Only a process that is still the one the test started: pids are reused.
    if (isGone(pid) || cmdline(pid) !== command) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // it exited meanwhile
    }
  }
}

async function start(command: string, args: string[], env: Record<string, string>): Promise<Started> {
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
  const output = { stderr: '' };
  child.stderr.on('data', (d: Buffer) => (output.stderr += d));
  const stderr = new Promise<string>((resolve) => child.stderr.on('close', () => resolve(output.stderr)));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const address = (await waitForOutput({ output, result: exited }, /hearth listening on (http:\/\/\S+)/))[1]!;
  assert.equal((await fetch(`${address}/health`)).status, 200);
  const pid = child.pid!;
  const tree = [{ pid, cmdline: cmdline(pid) }, ...descendants(pid)];
  for (const p of tree) launched.set(p.pid, p.cmdline);
  return { pid, tree, address, stderr, output: () => output.stderr };
}

/**
 * Signals the launcher alone, then waits for every process of the tree to exit and checks that hearth drained (its SIGTERM path) rather than died.
 * `hearths`, below the launcher: bin/hearth.js serves in its own process (1); the ES module entry relaunches itself (2); 0 when the launcher is hearth.
 */
async function stopVia(started: Started, signal: NodeJS.Signals, hearths: 0 | 1 | 2): Promise<void> {
  const hearth = started.tree.slice(1).filter((p) => /hearth|entry\.ts/.test(p.cmdline) && !/^(npm|sh) /.test(p.cmdline));
  assert.equal(hearth.length, hearths, `${hearths === 2 ? 'a launcher and a relaunched hearth' : 'one hearth, not relaunched'}: ${JSON.stringify(started.tree)}`);
  process.kill(started.pid, signal);
  await waitFor(() => started.tree.every((p) => isGone(p.pid)), {
    what: `every process of ${JSON.stringify(started.tree)} to exit after ${signal} to the launcher`,
  });
  const stderr = await started.stderr;
  assert.ok(stderr.includes(DRAINING), `hearth shut down gracefully:\n${stderr}`);
  await assert.rejects(fetch(`${started.address}/health`), 'the port is closed');
}

describe('signals through launchers', { skip: HAS_PROC ? false : 'needs /proc to follow the process tree' }, () => {
  let box: Sandbox;
  const dist = staleDist();

  before(async () => {
    box = await createSandbox();
  });
  after(async () => {
    killStrays();
    killLeftovers();
    await box.cleanup();
  });

  test('npx hearth serve: SIGTERM to npx stops hearth', { skip: dist ?? false }, async () => {
    await stopVia(await start('npx', ['hearth', 'serve', '--port', '0'], launcherEnv(box)), 'SIGTERM', 1);
  });

  test('npm exec (this src/, the same path as npx): SIGTERM to npm stops hearth', async () => {
    await stopVia(await start('npm', ['exec', '-c', `"${process.execPath}" --import tsx "${ENTRY}" serve --port 0`], launcherEnv(box)), 'SIGTERM', 2);
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    test(`npm start: ${signal} to npm reaches the server`, { skip: dist ?? false }, async () => {
      await stopVia(await start('npm', ['start', '--', '--port', '0'], launcherEnv(box)), signal, 1);
    });

    test(`the CLI's relaunching parent: ${signal} reaches the server`, async () => {
      const server = spawnHearth(['serve', '--port', '0'], box.env({ HEARTH_OFFLINE: '1', HEARTH_LOG_LEVEL: 'info' }));
      const address = (await waitForOutput(server, /hearth listening on (http:\/\/\S+)/))[1];
      const tree = [{ pid: server.pid!, cmdline: 'hearth' }, ...descendants(server.pid!).filter((p) => p.cmdline.includes('entry.ts'))];
      assert.equal(tree.length, 2, 'the launcher and its relaunched child');
      server.kill(signal);
      const result = await server.result;
      assert.equal(result.code, 0);
      // The launcher has exited; its child may still be on its way out.
      await waitFor(() => tree.every((p) => isGone(p.pid)), { what: 'every process of the tree to exit' });
      assert.ok(tree.every((p) => isGone(p.pid)));
      assert.ok(result.stderr.includes(DRAINING), result.stderr);
      await assert.rejects(fetch(`${address}/health`));
    });
  }

  test('npm exec killed outright (SIGKILL forwards nothing): hearth notices and drains', async () => {
    await stopVia(await start('npm', ['exec', '-c', `"${process.execPath}" --import tsx "${ENTRY}" serve --port 0`], launcherEnv(box)), 'SIGKILL', 2);
  });

  test('bin/hearth.js serve: one process, which gave itself the runtime environment before libuv started its pool', { skip: dist ?? false }, async () => {
    // Threads once listening: one libuv pool thread with the environment applied in place, four with UV_THREADPOOL_SIZE=4; the rest is the same Node.
    const threads = async (extra: Record<string, string>) => {
      const started = await start(process.execPath, [join(ROOT, 'bin', 'hearth.js'), 'serve', '--port', '0'], { ...launcherEnv(box), ...extra });
      const count = readdirSync(`/proc/${started.pid}/task`).length;
      const hearths = started.tree.filter((p) => /hearth|entry\.(ts|js)/.test(p.cmdline));
      assert.equal(hearths.length, 1, `no relaunch: ${JSON.stringify(started.tree)}`);
      await stopVia(started, 'SIGTERM', 0);
      return count;
    };
    const tamed = await threads({});
    const four = await threads({ UV_THREADPOOL_SIZE: '4' });
    assert.equal(four - tamed, 3, `threads: ${tamed} applied in place, ${four} with UV_THREADPOOL_SIZE=4`);
  });

  test('bin/hearth.js serve with a GGUF preload: the llama.cpp runtime started ahead of the CLI serves it', { skip: dist ?? false }, async () => {
    const fixtures = await createModelFixtures();
    try {
      const env = { ...launcherEnv(box), HEARTH_PRELOAD: fixtures.llama, HEARTH_LOG_LEVEL: 'debug', HEARTH_LOG_FORMAT: 'json', HEARTH_THREADS: '1' };
      const started = await start(process.execPath, [join(ROOT, 'bin', 'hearth.js'), 'serve', '--port', '0'], env);
      // Ready means loaded and warmed: one real inference on the runtime that was taken.
      await waitFor(async () => (await fetch(`${started.address}/ready`)).status === 200, { what: 'the preload to be ready' });
      assert.match(started.output(), /taking the one serve started ahead/);
      await stopVia(started, 'SIGTERM', 0);
    } finally {
      await fixtures.cleanup();
    }
  });

  test("the CLI's relaunching parent killed outright: the server notices and drains", async () => {
    const server = spawnHearth(['serve', '--port', '0'], box.env({ HEARTH_OFFLINE: '1', HEARTH_LOG_LEVEL: 'info' }));
    await waitForOutput(server, /hearth listening on/);
    // The relaunched hearth, not the helper processes tsx and node-llama-cpp may have running (esbuild, a binary probe).
    const child = descendants(server.pid!).filter((p) => p.cmdline.includes('entry.ts'));
    assert.equal(child.length, 1, 'one relaunched child');
    server.kill('SIGKILL');
    await waitFor(() => isGone(child[0]!.pid), { what: 'the relaunched child to exit' });
    // The child's stderr is the pipe the killed parent shared; it closes when the child exits.
    assert.ok((await server.result).stderr.includes(DRAINING));
  });
});
