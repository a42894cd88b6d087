import type { Command } from 'commander';
import { toHearthError } from '../errors/index.js';
import type { CliContext } from './context.js';

/** Runs a command body with a context and turns failures into exit codes. */
export type Runner = <A extends unknown[]>(action: (ctx: CliContext, ...args: A) => Promise<number | void>) => (...args: A) => Promise<void>;

export type CommandFactory = (run: Runner) => Command;

/** Prints a typed error the way every command does: code, message, hint; returns its exit code. */
export function reportError(error: unknown, stderr: NodeJS.WritableStream): number {
  const e = toHearthError(error);
  stderr.write(`error[${e.code}]: ${e.message}\n`);
  if (e.hint) stderr.write(`  hint: ${e.hint}\n`);
  if (e.code === 'INTERNAL' && e.cause instanceof Error && e.cause.stack) stderr.write(`${e.cause.stack}\n`);
  return e.exitCode;
}

/** An AbortSignal fired by Ctrl-C or SIGTERM, so long operations stop cleanly and keep resumable state. */
export function interruptSignal(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => controller.abort(new Error(`interrupted by ${name}`));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
