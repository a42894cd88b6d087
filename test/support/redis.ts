import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GENEROUS_MS } from './wait.js';

/** A throwaway Debian redis-server on a random loopback port, stopped by stop() or at exit. */
export interface RedisServer {
  url: string;
  port: number;
  /** SIGKILL, as a crash: a later restart() finds an empty Redis, or with `persistent` every write it acknowledged. */
  kill(): Promise<void>;
  /** Starts it again on the same port (after kill). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * Starts redis-server, or says why it cannot; with HEARTH_REQUIRE_REDIS=1
 * (as `.ci/run` sets) that throws instead, so CI never skips the Redis suite.
 */
export async function startRedis(env: NodeJS.ProcessEnv = process.env, options: { persistent?: boolean } = {}): Promise<RedisServer | { unavailable: string }> {
  if (spawnSync('redis-server', ['--version']).error) {
    const reason = 'redis-server is not installed (apt-get install redis-server; .ci/run does)';
    if (env.HEARTH_REQUIRE_REDIS === '1') throw new Error(`HEARTH_REQUIRE_REDIS=1, but ${reason}`);
    return { unavailable: reason };
  }
  const dir = await mkdtemp(join(tmpdir(), 'hearth-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    // Persistent: an append-only file synced on every write, as a production Redis for queues is set up.
    const persistence = options.persistent ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--dir', dir, '--maxmemory-policy', 'noeviction'], { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    await ready(child);
  };
  const kill = async () => {
    const c = child;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((resolve) => c.once('exit', resolve));
    c.kill('SIGKILL');
    await exited;
    live.delete(c);
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill,
    restart: start,
    stop: async () => {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves when the server says it accepts connections; rejects if it exits first. */
function ready(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`redis-server did not start in ${GENEROUS_MS} ms:\n${out}`)), GENEROUS_MS);
    const onData = (data: Buffer) => {
      out += data.toString();
      if (/Ready to accept connections/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}:\n${out}`));
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
