import { spawn } from 'node:child_process';
import { untamedEnv } from '../env.js';
import { hearthCommand } from '../hearth/hearth-server.js';
import { track } from './live.js';

/** Wall time of a whole process, spawn to exit; a non-zero exit, a failed spawn or the timeout fails it. */
export function timed(command: string, args: string[], env: Record<string, string>, timeoutMs = 300_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = track(spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] }));
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const ms = performance.now() - start;
      if (code === 0) resolve(ms);
      else reject(new Error(`${command.split('/').pop()} ${signal === 'SIGKILL' && ms >= timeoutMs ? `timed out after ${timeoutMs} ms` : `exited ${signal ?? code}`}: ${stderr.trim().split('\n').slice(-2).join(' | ')}`));
    });
  });
}

/** What the CLI costs before any model work: Node, tsx (with --entry src) and the command table. */
export function cliStartupMs(entry: 'src' | 'dist'): Promise<number> {
  return timed(process.execPath, [...hearthCommand(entry), '--version'], untamedEnv(), 60_000);
}
