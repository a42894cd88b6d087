import { Command } from 'commander';
import { DEFAULT_SPEAKER_COLLECTION, Speakers } from '../../../memory/speakers.js';
import { readAudioFiles } from '../../audio-files.js';
import type { CommandFactory } from '../../command.js';
import { interruptSignal } from '../../command.js';
import { writeJson } from '../../format.js';

export const enrollCommand: CommandFactory = (run) =>
  new Command('enroll')
    .description("enroll a speaker from one or more WAV clips: their embeddings' mean is stored as the speaker's voiceprint, replacing an earlier one of that name")
    .argument('<name>', 'the speaker')
    .argument('<files...>', 'WAV clips of the speaker')
    .option('-c, --collection <name>', 'the speaker collection', DEFAULT_SPEAKER_COLLECTION)
    .option('-m, --model <ref>', 'the speaker model, needed on the first enrollment (it makes the collection in a space of that model)')
    .option('--json', 'print the enrollment as JSON')
    .action(
      run(async (ctx, name: string, files: string[], options: { collection: string; model?: string; json?: boolean }) => {
        const clips = await readAudioFiles(files, ctx.config.audio.maxSeconds);
        const interrupt = interruptSignal();
        try {
          const record = await new Speakers(await ctx.memory()).enroll(options.collection, name, clips, { model: options.model, signal: interrupt.signal });
          if (options.json) return writeJson(ctx.stdout, { collection: options.collection, ...record });
          ctx.stdout.write(`enrolled ${name} in ${options.collection} from ${record.clips} clip${record.clips === 1 ? '' : 's'} (${record.seconds.toFixed(1)} s)\n`);
        } finally {
          interrupt.dispose();
        }
      }),
    );
