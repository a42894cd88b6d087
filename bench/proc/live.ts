import type { ChildProcess } from 'node:child_process';

/**
 * Processes the harness started and has not seen exit. On the harness's own
 * exit or interruption each is ended by its pid, so no server outlives a run.
 */
const live = new Set<ChildProcess>();

export function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

export function killAll(signal: NodeJS.Signals = 'SIGTERM'): void {
  for (const child of live) child.kill(signal);
}

process.once('exit', () => killAll('SIGKILL'));
