import { Command } from 'commander';
import { HearthError, isHearthError } from '../../../errors/index.js';
import type { CommandFactory } from '../../command.js';
import { interruptSignal } from '../../command.js';
import { writeJson } from '../../format.js';

export const createCommand: CommandFactory = (run) =>
  new Command('create')
    .description('make a collection, in a new embedding space of the same name made from --model, or in an existing space (--space)')
    .argument('<name>', 'the collection name: 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit')
    .option('-m, --model <ref>', 'the embedding model (a reference, alias or name in the store): hearth makes a space of the same name from it')
    .option('-s, --space <space>', 'an existing embedding space, which fixes the model and the dimensions')
    .option('--json', 'print the collection as JSON')
    .action(
      run(async (ctx, name: string, options: { model?: string; space?: string; json?: boolean }) => {
        if ((options.model === undefined) === (options.space === undefined)) {
          throw new HearthError('USAGE', 'give the collection either --model or --space (one of them)', { hint: 'hearth memory create notes --model <embedding model>' });
        }
        const from = options.space !== undefined ? { space: options.space } : { model: options.model! };
        const memory = await ctx.memory();
        const interrupt = interruptSignal();
        try {
          const collection = await memory.create(name, from, interrupt.signal).catch((error: unknown) => {
            // --model makes a space named after the collection; one left by an earlier collection of that name can be reused.
            if (isHearthError(error) && error.code === 'SPACE_EXISTS' && 'model' in from) {
              throw new HearthError('SPACE_EXISTS', `${error.message}: --model makes a new space named after the collection`, {
                cause: error,
                details: error.details,
                hint: `create the collection in it with --space ${name}, or remove it first with hearth space rm ${name}`,
              });
            }
            throw error;
          });
          if (options.json) return writeJson(ctx.stdout, { ...collection, engine: memory.engine.kind });
          ctx.stdout.write(`created collection ${collection.name}: space ${collection.space}, ${collection.dimensions} dims, engine ${memory.engine.kind}\n`);
        } finally {
          interrupt.dispose();
        }
      }),
    );
