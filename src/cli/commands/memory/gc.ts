import { Command } from 'commander';
import type { CommandFactory } from '../../command.js';
import { writeJson } from '../../format.js';

export const gcCommand: CommandFactory = (run) =>
  new Command('gc')
    .description('remove the collections that hearth memory migrate swapped out (their documents and vectors in the old space); their spaces stay')
    .option('--json', 'print what was removed as JSON')
    .action(
      run(async (ctx, options: { json?: boolean }) => {
        const removed = await (await ctx.memory()).gc();
        if (options.json) return writeJson(ctx.stdout, { removed });
        if (removed.length === 0) ctx.stdout.write('nothing to remove\n');
        for (const c of removed) ctx.stdout.write(`removed the old vectors of collection ${c.name} (space ${c.space})\n`);
      }),
    );
