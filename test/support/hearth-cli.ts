import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ENTRY = fileURLToPath(new URL('../../src/cli/entry.ts', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts the real `hearth` CLI as a separate process (from source, through tsx). */
export type HearthProcess = ChildProcess & {
  result: Promise<CliResult>;
  /** Output so far, for waiting on a banner while the process runs. */
  output: { stdout: string; stderr: string };
};

/** Children still running; a failed assertion must not leave a server behind to hang the test run. */
const live = new Set<ChildProcess>();
process.on('exit', () => killStrays());

/** Stops every hearth process a test started and has not seen exit; call from `after`. SIGTERM reaches relaunched children too. */
export function killStrays(): void {
  for (const child of live) child.kill('SIGTERM');
}

/** `input`, when given, is written to the child's stdin, which is then closed; otherwise it has none. */
export function spawnHearth(args: string[], env: Record<string, string>, options: { input?: string } = {}): HearthProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (options.input !== undefined) child.stdin!.end(options.input);
  live.add(child);
  child.on('exit', () => live.delete(child));
  const output = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d: Buffer) => (output.stdout += d));
  child.stderr!.on('data', (d: Buffer) => (output.stderr += d));
  const result = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, ...output }));
  });
  return Object.assign(child, { result, output });
}

export function runHearth(args: string[], env: Record<string, string>, options: { input?: string } = {}): Promise<CliResult> {
  return spawnHearth(args, env, options).result;
}

/** Names in a blobs folder, and the size of its largest partial download (0 when none); a partial renamed away mid-read counts as 0. */
export async function partialDownloads(blobsDir: string): Promise<{ names: string[]; largest: number }> {
  const names = await readdir(blobsDir).catch(() => [] as string[]);
  const sizes = await Promise.all(names.filter((n) => n.endsWith('.incomplete')).map(async (n) => (await stat(join(blobsDir, n)).catch(() => undefined))?.size ?? 0));
  return { names, largest: Math.max(0, ...sizes) };
}
