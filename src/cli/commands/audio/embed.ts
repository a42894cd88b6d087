import { Command } from 'commander';
import { asSpeakerModel } from '../../../runtime/audio/speaker-guard.js';
import { l2norm } from '../../../runtime/vector.js';
import { readAudioFiles } from '../../audio-files.js';
import type { CommandFactory } from '../../command.js';
import { interruptSignal } from '../../command.js';
import { writeJson } from '../../format.js';

export const embedCommand: CommandFactory = (run) =>
  new Command('embed')
    .description('print the speaker embeddings of WAV files as JSON, without a server: model, runtime, dims, and per file its seconds and norm (and vector with --full)')
    .argument('<files...>', 'WAV files (PCM 8–32-bit or float, any rate, mono or stereo)')
    .requiredOption('-m, --model <ref>', 'a speaker model: a SpeechBrain repo reference, alias or folder (must be in the store)')
    .option('--normalize', "subtract the model's global embedding mean (SpeechBrain's encode_batch(normalize=True))")
    .option('--full', 'include the vectors themselves')
    .action(
      run(async (ctx, files: string[], options: { model: string; normalize?: boolean; full?: boolean }) => {
        const clips = await readAudioFiles(files, ctx.config.audio.maxSeconds);
        const interrupt = interruptSignal();
        const pool = await ctx.pool();
        try {
          await pool.use(options.model, { signal: interrupt.signal }, async (loaded) => {
            const vectors = await asSpeakerModel(loaded, options.model).embedAudio(clips, { normalize: options.normalize ?? false, signal: interrupt.signal });
            const { engine, engineVersion, device, cpuVariant, digest, threads, parallel } = loaded.identity;
            writeJson(ctx.stdout, {
              model: options.model,
              runtime: { engine, engineVersion, device, cpuVariant: cpuVariant ?? null, digest: digest ?? null, threads, parallel },
              dims: vectors[0]?.length ?? 0,
              normalized: options.normalize ?? false,
              embeddings: vectors.map((vector, index) => ({
                index,
                file: files[index],
                seconds: clips[index]!.channels[0]!.length / clips[index]!.sampleRate,
                norm: l2norm(vector),
                ...(options.full ? { vector: Array.from(vector) } : {}),
              })),
            });
          });
        } finally {
          interrupt.dispose();
        }
      }),
    );
