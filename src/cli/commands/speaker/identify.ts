import { Command } from 'commander';
import { DEFAULT_SPEAKER_COLLECTION, Speakers } from '../../../memory/speakers.js';
import { readAudioFiles } from '../../audio-files.js';
import type { CommandFactory } from '../../command.js';
import { interruptSignal } from '../../command.js';
import { table, writeJson } from '../../format.js';
import { parsePositiveInt, parseSimilarity } from '../memory/present.js';

export const identifyCommand: CommandFactory = (run) =>
  new Command('identify')
    .description('the enrolled speakers whose voiceprints are closest to a clip, best first, and who it is when the best passes the threshold')
    .argument('<file>', 'a WAV clip')
    .option('-c, --collection <name>', 'the speaker collection', DEFAULT_SPEAKER_COLLECTION)
    .option('-k, --top-k <n>', 'how many speakers to list', '5')
    .option('--threshold <x>', 'the cosine score above which the best match is the speaker (default HEARTH_AUDIO_VERIFY_THRESHOLD)')
    .option('--json', 'print the result as JSON')
    .action(
      run(async (ctx, file: string, options: { collection: string; topK: string; threshold?: string; json?: boolean }) => {
        const topK = parsePositiveInt(options.topK, '--top-k');
        const threshold = options.threshold === undefined ? ctx.config.audio.verifyThreshold : parseSimilarity(options.threshold, '--threshold');
        const [clip] = await readAudioFiles([file], ctx.config.audio.maxSeconds);
        const interrupt = interruptSignal();
        try {
          const result = await new Speakers(await ctx.memory()).identify(options.collection, clip!, { topK, threshold, signal: interrupt.signal });
          if (options.json) return writeJson(ctx.stdout, { collection: options.collection, ...result });
          ctx.stdout.write(`${result.speaker === null ? `nobody enrolled scores above ${threshold}` : `speaker: ${result.speaker}`}\n`);
          if (result.matches.length > 0) ctx.stdout.write(table(['SCORE', 'SPEAKER'], result.matches.map((m) => [m.score.toFixed(4), m.name])));
        } finally {
          interrupt.dispose();
        }
      }),
    );
