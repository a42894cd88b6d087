import { Command } from 'commander';
import type { CommandFactory } from '../../command.js';

export const rmCommand: CommandFactory = (run) =>
  new Command('rm')
    .alias('remove')
    .description('remove a space (only its record: no model and no stored vectors are touched)')
    .argument('<name>', 'the space to remove')
    .action(
      run(async (ctx, name: string) => {
        await (await ctx.spaces()).remove(name);
        ctx.stdout.write(`removed space ${name}\n`);
      }),
    );
