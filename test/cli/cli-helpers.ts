import { setTimeout as sleep } from 'node:timers/promises';
import type { HearthProcess } from '../support/hearth-cli.js';

/**
 * Waits until a running hearth process prints `pattern` on stderr. The bound is generous (a loaded
 * 2-vCPU machine starts tsx slowly); an exit before the pattern fails at once with the output.
 */
export async function waitForOutput(child: HearthProcess, pattern: RegExp, boundMs = 120_000): Promise<RegExpExecArray> {
  let exited = false;
  void child.result.then(() => (exited = true));
  for (const deadline = Date.now() + boundMs; Date.now() < deadline; await sleep(50)) {
    const match = pattern.exec(child.output.stderr);
    if (match) return match;
    if (exited) break;
  }
  throw new Error(`hearth did not print ${pattern} (${exited ? 'it exited' : 'still running'}); stderr:\n${child.output.stderr}`);
}
