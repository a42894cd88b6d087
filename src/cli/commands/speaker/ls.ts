import { Command } from 'commander';
import { DEFAULT_SPEAKER_COLLECTION, Speakers } from '../../../memory/speakers.js';
import type { CommandFactory } from '../../command.js';
import { table, writeJson } from '../../format.js';

export const lsCommand: CommandFactory = (run) =>
  new Command('ls')
    .description('list the enrolled speakers: name, clips, seconds of audio and when they were enrolled')
    .option('-c, --collection <name>', 'the speaker collection', DEFAULT_SPEAKER_COLLECTION)
    .option('--json', 'print the speakers as JSON')
    .action(
      run(async (ctx, options: { collection: string; json?: boolean }) => {
        const speakers = await new Speakers(await ctx.memory()).list(options.collection);
        if (options.json) return writeJson(ctx.stdout, speakers);
        if (speakers.length === 0) return void ctx.stdout.write(`no speakers enrolled in ${options.collection}\n`);
        ctx.stdout.write(table(['NAME', 'CLIPS', 'SECONDS', 'ENROLLED'], speakers.map((s) => [s.name, String(s.clips), s.seconds.toFixed(1), s.enrolledAt])));
      }),
    );
