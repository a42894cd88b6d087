import { Command, CommanderError } from 'commander';
import { HEARTH_VERSION } from '../version.js';
import { reportError, type CommandFactory, type Runner } from './command.js';
import { copyCommand } from './commands/cp.js';
import { createCommand } from './commands/create.js';
import { doctorCommand } from './commands/doctor.js';
import { audioCommand } from './commands/audio/index.js';
import { embedCommand } from './commands/embed.js';
import { enrichCommand } from './commands/enrich.js';
import { ingestCommand } from './commands/ingest.js';
import { exportCommand } from './commands/export.js';
import { gcCommand } from './commands/gc.js';
import { importCommand } from './commands/import.js';
import { lsCommand } from './commands/ls.js';
import { memoryCommand } from './commands/memory/index.js';
import { psCommand } from './commands/ps.js';
import { pullCommand } from './commands/pull.js';
import { rmCommand } from './commands/rm.js';
import { runCommand } from './commands/run.js';
import { serveCommand } from './commands/serve.js';
import { spaceCommand } from './commands/space/index.js';
import { speakerCommand } from './commands/speaker/index.js';
import { verifyCommand } from './commands/verify.js';
import { workerCommand } from './commands/worker.js';
import { createCliContext, type CliContext } from './context.js';

const commands: CommandFactory[] = [serveCommand, psCommand, runCommand, embedCommand, audioCommand, speakerCommand, enrichCommand, ingestCommand, pullCommand, lsCommand, rmCommand, createCommand, copyCommand, verifyCommand, gcCommand, exportCommand, importCommand, spaceCommand, memoryCommand, workerCommand, doctorCommand];

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
  for (const factory of commands) program.addCommand(factory(run).exitOverride());
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 64;
    return reportError(error, process.stderr);
  }
  return exitCode;
}
