import { Command } from 'commander';
import { DEFAULT_SPEAKER_COLLECTION, Speakers } from '../../../memory/speakers.js';
import type { CommandFactory } from '../../command.js';

export const rmCommand: CommandFactory = (run) =>
  new Command('rm')
    .description('remove enrolled speakers (SPEAKER_NOT_FOUND, exit 66, for a name not enrolled)')
    .argument('<names...>', 'the speakers')
    .option('-c, --collection <name>', 'the speaker collection', DEFAULT_SPEAKER_COLLECTION)
    .action(
      run(async (ctx, names: string[], options: { collection: string }) => {
        const speakers = new Speakers(await ctx.memory());
        for (const name of names) {
          await speakers.remove(options.collection, name);
          ctx.stdout.write(`removed ${name}\n`);
        }
      }),
    );
