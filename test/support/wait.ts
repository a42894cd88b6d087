import { setTimeout as sleep } from 'node:timers/promises';
import type { HearthProcess } from './hearth-cli.js';

/**
 * The bound every wait in the suite uses unless it says otherwise. It is
 * generous on purpose: a busy 2-vCPU CI machine makes things slow, never
 * wrong, so a test waits on a state and only gives up when something is stuck.
 */
export const GENEROUS_MS = 180_000;

type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

/** Polls `condition` until it returns something truthy, and returns that; throws naming `what` past the bound. */
export async function waitFor<T>(condition: () => T | Promise<T>, options: { what: string; timeoutMs?: number; intervalMs?: number }): Promise<Truthy<T>> {
  const deadline = Date.now() + (options.timeoutMs ?? GENEROUS_MS);
  for (;;) {
    const value = await condition();
    if (value) return value as Truthy<T>;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${options.what} after ${options.timeoutMs ?? GENEROUS_MS} ms`);
    await sleep(options.intervalMs ?? 25);
  }
}

/** A running process as waitForOutput watches it: its stderr so far, and its end. */
export type Watched = Pick<HearthProcess, 'output' | 'result'> | { output: { stderr: string }; result: Promise<unknown> };

/** Waits until a running process prints `pattern` on stderr; an exit before it fails at once, with the output. */
export async function waitForOutput(child: Watched, pattern: RegExp, timeoutMs = GENEROUS_MS): Promise<RegExpExecArray> {
  let exited = false;
  void child.result.then(() => (exited = true));
  try {
    return await waitFor(() => {
      if (exited && !pattern.test(child.output.stderr)) throw new Error('exited');
      return pattern.exec(child.output.stderr);
    }, { what: `${pattern}`, timeoutMs });
  } catch (error) {
    throw new Error(`hearth did not print ${pattern} (${(error as Error).message}); stderr:\n${child.output.stderr}`);
  }
}
