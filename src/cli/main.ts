import { Command, CommanderError } from 'commander';
import { HEARTH_VERSION } from '../version.js';
import { reportError, type Runner } from './command.js';
import { commandsFor } from './command-table.js';
import { createCliContext, type CliContext } from './context.js';

/** Runs the CLI and returns the exit code; never calls process.exit, so it is testable in-process. */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let exitCode = 0;
  const run: Runner =
    (action) =>
    async (...args) => {
      let ctx: CliContext | undefined;
      try {
        ctx = createCliContext(env);
        exitCode = (await action(ctx, ...args)) ?? 0;
      } catch (error) {
        exitCode = reportError(error, process.stderr);
      } finally {
        await ctx?.dispose();
      }
    };
  const program = new Command('hearth')
    .description('self-hosted AI model runtime: a verified offline model store, a warm pool, OpenAI- and Ollama-compatible APIs')
    .version(HEARTH_VERSION)
    .exitOverride()
    .showHelpAfterError();
  for (const factory of await commandsFor(argv)) program.addCommand(factory(run).exitOverride());
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 64;
    return reportError(error, process.stderr);
  }
  return exitCode;
}
