import { Command } from 'commander';
import type { CommandFactory } from '../../command.js';
import { plural } from './present.js';

export const rmCommand: CommandFactory = (run) =>
  new Command('rm')
    .alias('remove')
    .description('remove documents (and their chunks) from a collection by id; ids it does not hold are ignored')
    .argument('<name>', 'the collection')
    .argument('<ids...>', 'document ids, as hearth memory query shows them (a file\'s id is its path as it was added)')
    .action(
      run(async (ctx, name: string, ids: string[]) => {
        const unique = [...new Set(ids)];
        const removed = await (await ctx.memory()).remove(name, unique);
        ctx.stdout.write(`removed ${plural(removed, 'document')} from ${name}${removed < unique.length ? ` (${unique.length - removed} not found)` : ''}\n`);
      }),
    );
