import { Command } from 'commander';
import type { CommandFactory } from '../../command.js';
import { interruptSignal } from '../../command.js';
import { writeJson } from '../../format.js';
import { oneLine, spaceSummary } from './present.js';

export const createCommand: CommandFactory = (run) =>
  new Command('create')
    .description("make a space: embed hearth's probe texts with the model as it runs here, and store their vectors with the model's and runtime's identity")
    .argument('<name>', 'the space name: 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit')
    .requiredOption('-m, --model <ref>', 'the embedding model: a reference, alias or name (must be in the store)')
    .option('--json', 'print the space (without its vectors) as JSON')
    .action(
      run(async (ctx, name: string, options: { model: string; json?: boolean }) => {
        const interrupt = interruptSignal();
        try {
          const record = await (await ctx.spaces()).create(name, options.model, { signal: interrupt.signal });
          if (options.json) return writeJson(ctx.stdout, spaceSummary(record));
          ctx.stdout.write(`created space ${record.name}: ${oneLine(record)}\n`);
        } finally {
          interrupt.dispose();
        }
      }),
    );
