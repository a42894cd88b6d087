import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { CheckReport } from '../../src/spaces/index.js';
import { hearthCommand } from '../hearth/hearth-server.js';
import { untamedEnv } from '../env.js';
import { track } from '../proc/live.js';

/** A home of its own for `hearth space` runs: models are used in place, and no hub is ever contacted. */
export function spaceEnv(home: string, extra: Record<string, string> = {}): Record<string, string> {
  // Untamed on purpose: the CLI relaunches itself tamed for create and check, as a user's shell would see it.
  return untamedEnv(process.env, { HEARTH_HOME: home, HF_HUB_CACHE: join(home, 'hub'), HF_HOME: join(home, 'hf-home'), HEARTH_OFFLINE: '1', HEARTH_LOG_LEVEL: 'warn', ...extra });
}

/** Runs `hearth space <args>` and returns its stdout; a non-zero exit other than `allow` fails. */
export function spaceCli(entry: 'src' | 'dist', args: string[], env: Record<string, string>, allow: number[] = [0], timeoutMs = 600_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = track(spawn(process.execPath, [...hearthCommand(entry), 'space', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] }));
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== null && allow.includes(code)) resolve(stdout);
      else reject(new Error(`hearth space ${args[0]} exited ${code}: ${stderr.trim().split('\n').slice(-2).join(' | ')}`));
    });
  });
}

/** `hearth space check --json`, whatever its verdict. */
export async function spaceCheck(entry: 'src' | 'dist', name: string, env: Record<string, string>, model?: string): Promise<CheckReport> {
  const out = await spaceCli(entry, ['check', name, '--json', ...(model ? ['--model', model] : [])], env, [0, 65]);
  return JSON.parse(out) as CheckReport;
}
