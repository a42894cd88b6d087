import { fork, type ChildProcess } from 'node:child_process';
import { TSX_ARGS } from '../paths.js';
import { track } from './live.js';

/**
 * Parent side of a measured child process: a TypeScript worker started with
 * its own environment (tamed or not), given one JSON input over IPC, answering
 * with one JSON result. Children never share the harness's event loop.
 */
export interface ChildOptions {
  env: Record<string, string>;
  timeoutMs: number;
  /** Progress events the child sends before its result, with the parent's clock (performance.now()). */
  onEvent?: (event: unknown, at: number) => void;
  /** Resolves when the parent wants a long-running child (a sampler) to stop and report. */
  stop?: Promise<void>;
}

export interface ChildRun<O> {
  result: Promise<O>;
  /** performance.now() when the process was spawned. */
  startedAt: number;
  child: ChildProcess;
}

type ChildMessage = { type: 'event'; event: unknown } | { type: 'result'; result: unknown } | { type: 'error'; message: string };

export function startChild<I, O>(script: string, input: I, options: ChildOptions): ChildRun<O> {
  const startedAt = performance.now();
  // TypeScript workers run through tsx; a plain .mjs worker starts as a plain Node program.
  const execArgv = script.endsWith('.ts') ? TSX_ARGS : [];
  const child = track(fork(script, [], { execArgv, env: options.env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] }));
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const result = new Promise<O>((resolve, reject) => {
    let settled = false;
    const finish = (error: Error | undefined, value?: O) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      if (error) reject(error);
      else resolve(value as O);
    };
    const timer = setTimeout(() => finish(new Error(`${short(script)} timed out after ${options.timeoutMs} ms`)), options.timeoutMs);
    child.on('message', (raw: ChildMessage) => {
      if (raw.type === 'event') options.onEvent?.(raw.event, performance.now());
      else if (raw.type === 'result') finish(undefined, raw.result as O);
      else finish(new Error(`${short(script)}: ${raw.message}`));
    });
    child.on('error', (error) => finish(error));
    // 'close', not 'exit': 'exit' can come before the child's last IPC message has been read.
    child.on('close', (code, signal) => {
      finish(new Error(`${short(script)} exited (${signal ?? code}) before answering${stderr ? `: ${lastLines(stderr)}` : ''}`));
    });
    child.once('spawn', () => child.send({ type: 'input', input }));
    void options.stop?.then(() => {
      if (child.connected) child.send({ type: 'stop' });
    });
  });
  return { result, startedAt, child };
}

export function runChild<I, O>(script: string, input: I, options: ChildOptions): Promise<O> {
  return startChild<I, O>(script, input, options).result;
}

function short(script: string): string {
  return script.split('/').slice(-2).join('/');
}

function lastLines(text: string): string {
  return text.trim().split('\n').slice(-3).join(' | ');
}
