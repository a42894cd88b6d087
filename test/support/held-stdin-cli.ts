import { spawn } from 'node:child_process';
import { ENTRY, type CliResult, type HearthProcess } from './hearth-cli.js';

/** Children still running, killed when the test process exits so a failed assertion leaves no hearth holding a database. */
const live = new Set<HearthProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/**
 * Starts the real `hearth` CLI with its stdin left open. Given `-` after its
 * files, `hearth memory add` writes every batch of documents before it and then
 * waits for stdin, so the process is certain to still be running, whatever the
 * machine's speed, until the test ends stdin or kills it.
 */
export function spawnHearthHoldingStdin(args: string[], env: Record<string, string>): HearthProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => (output.stdout += d));
  child.stderr.on('data', (d: Buffer) => (output.stderr += d));
  // A child killed while the test still holds its stdin: the pipe's EPIPE is expected, not a failure.
  child.stdin.on('error', () => undefined);
  const result = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, ...output }));
  });
  const held = Object.assign(child, { result, output }) as HearthProcess;
  live.add(held);
  child.on('exit', () => live.delete(held));
  return held;
}

/** SIGKILLs a child and returns how it ended; the caller asserts it was the kill that ended it. */
export async function killHard(child: HearthProcess): Promise<CliResult> {
  child.kill('SIGKILL');
  return child.result;
}
