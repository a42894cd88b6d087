import { Command } from 'commander';
import { defineModel, storedModel } from '../../pool/define-model.js';
import type { CommandFactory } from '../command.js';

export const copyCommand: CommandFactory = (run) =>
  new Command('cp')
    .alias('copy')
    .description("give a model another name (Ollama's copy): a definition with the source's settings, sharing its files")
    .argument('<source>', 'a stored model or a definition')
    .argument('<destination>', 'the new name')
    .action(
      run(async (ctx, source: string, destination: string) => {
        const store = ctx.store();
        const definition = await defineModel(store, destination, await storedModel(store, source), {}, 'destination');
        ctx.stdout.write(`copied ${source} to ${definition.name}\n`);
      }),
    );
