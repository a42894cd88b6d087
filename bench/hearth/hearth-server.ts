import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { untamedEnv } from '../env.js';
import { keepAliveAgent, get } from '../load/http-client.js';
import { HEARTH_ENTRY, REPO_ROOT, TSX_ARGS } from '../paths.js';
import { track } from '../proc/live.js';

/**
 * A real `hearth serve` process, started the way a user starts it: the CLI
 * from source (or bin/hearth.js with `entry: 'dist'`), in a plain environment:
 * from source it relaunches itself with the tamed one, and bin/hearth.js
 * applies it in its own process. Port 0; the URL is read from the banner.
 * Resolves once /ready answers 200.
 */
export interface HearthServerOptions {
  home: string;
  hubCache: string;
  aliases: Record<string, string>;
  preload: string[];
  /** HEARTH_THREADS, HEARTH_NUM_PARALLEL, HEARTH_TUNE_BUDGET, ... */
  env?: Record<string, string>;
  entry?: 'src' | 'dist';
  timeoutMs: number;
}

export interface HearthServer {
  url: string;
  /** performance.now() at spawn, at the listening banner, and at the first /ready 200. */
  spawnedAt: number;
  listeningAt: number;
  readyAt: number;
  stop(): Promise<void>;
}

export function hearthCommand(entry: 'src' | 'dist' = 'src'): string[] {
  return entry === 'dist' ? [join(REPO_ROOT, 'bin', 'hearth.js')] : [...TSX_ARGS, HEARTH_ENTRY];
}

export function distAvailable(): boolean {
  return existsSync(join(REPO_ROOT, 'dist', 'cli', 'entry.js'));
}

export async function writeHearthConfig(home: string, aliases: Record<string, string>): Promise<void> {
  await mkdir(home, { recursive: true });
  await writeFile(join(home, 'config.json'), JSON.stringify({ aliases }, null, 2));
}

export function hearthEnv(options: Pick<HearthServerOptions, 'home' | 'hubCache' | 'preload' | 'env'>): Record<string, string> {
  return untamedEnv(process.env, {
    HEARTH_HOME: options.home,
    HF_HUB_CACHE: options.hubCache,
    HF_HOME: join(options.home, 'hf-home'),
    // Local files are registered in place by the first preload; no hub is ever contacted, and
    // a loopback endpoint that refuses connections makes sure of it.
    HF_ENDPOINT: 'http://127.0.0.1:9',
    HEARTH_PORT: '0',
    HEARTH_LOG_LEVEL: 'warn',
    ...(options.preload.length > 0 ? { HEARTH_PRELOAD: options.preload.join(',') } : {}),
    ...options.env,
  });
}

export async function startHearth(options: HearthServerOptions): Promise<HearthServer> {
  await writeHearthConfig(options.home, options.aliases);
  const spawnedAt = performance.now();
  const child = track(spawn(process.execPath, [...hearthCommand(options.entry), 'serve'], { env: hearthEnv(options), stdio: ['ignore', 'ignore', 'pipe'] }));
  let stderr = '';
  let exited: string | undefined;
  child.on('exit', (code, signal) => (exited = `hearth serve exited (${signal ?? code})`));
  const listening = new Promise<{ url: string; at: number }>((resolve) => {
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-8000);
      const match = /hearth listening on (http:\/\/[^\s]+)/.exec(stderr);
      if (match) resolve({ url: match[1]!, at: performance.now() });
    });
  });
  const stop = () => stopProcess(child);
  try {
    const deadline = spawnedAt + options.timeoutMs;
    const { url, at: listeningAt } = await raceExit(listening, () => exited, deadline, () => stderr);
    const readyAt = await waitReady(url, deadline, () => exited, () => stderr);
    return { url, spawnedAt, listeningAt, readyAt, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function raceExit<T>(promise: Promise<T>, exited: () => string | undefined, deadline: number, stderr: () => string): Promise<T> {
  let done = false;
  const result = promise.finally(() => (done = true));
  while (!done) {
    const why = exited() ?? (performance.now() > deadline ? 'hearth serve did not start in time' : undefined);
    if (why) throw new Error(`${why}: ${tail(stderr())}`);
    await Promise.race([result, sleep(10)]);
  }
  return result;
}

/** Polls /ready every 5 ms; a preload that failed ends the wait with its reason. */
async function waitReady(url: string, deadline: number, exited: () => string | undefined, stderr: () => string): Promise<number> {
  const agent = keepAliveAgent(1);
  try {
    for (;;) {
      const reply = await get(agent, `${url}/ready`).catch(() => ({ status: 0, body: '' }));
      if (reply.status === 200) return performance.now();
      if (reply.status === 503) {
        const failed = (JSON.parse(reply.body) as { models?: Array<{ name: string; state: string; error?: unknown }> }).models?.find((m) => m.state === 'failed');
        if (failed) throw new Error(`preload of ${failed.name} failed: ${JSON.stringify(failed.error ?? 'unknown')}`);
      }
      const why = exited() ?? (performance.now() > deadline ? 'hearth did not become ready in time' : undefined);
      if (why) throw new Error(`${why}: ${tail(stderr())}`);
      await sleep(5);
    }
  } finally {
    agent.destroy();
  }
}

/** SIGTERM (hearth drains and unloads), then SIGKILL after 15 s. */
export async function stopProcess(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tail(text: string): string {
  return text.trim().split('\n').slice(-5).join(' | ') || '(no output)';
}
