import type { Command } from 'commander';
import { HearthError, toHearthError } from '../errors/index.js';
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

/**
 * A whole-number option as commander hands it (a string, or undefined when
 * not given), checked once for every command: a USAGE error names the flag.
 */
export function intOption(value: string, flag: string, min?: number): number;
export function intOption(value: string | undefined, flag: string, min?: number): number | undefined;
export function intOption(value: string | undefined, flag: string, min = Number.MIN_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min) {
    throw new HearthError('USAGE', `${flag}: expected ${min === 0 ? 'a whole number' : min === 1 ? 'a positive integer' : 'an integer'}, got "${value}"`);
  }
  return n;
}
