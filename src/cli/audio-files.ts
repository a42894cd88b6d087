import { readFile } from 'node:fs/promises';
import { HearthError, toHearthError } from '../errors/index.js';
import { readClip } from '../runtime/audio/read-clip.js';
import type { AudioInput } from '../runtime/types.js';

/** WAV files read and checked before any model loads: a bad file fails fast, naming it (AUDIO_*, or USAGE when unreadable). */
export async function readAudioFiles(files: readonly string[], maxSeconds: number): Promise<AudioInput[]> {
  return Promise.all(
    files.map(async (file) => {
      let bytes: Uint8Array;
      try {
        bytes = await readFile(file);
      } catch (error) {
        throw new HearthError('USAGE', `cannot read ${file}: ${toHearthError(error).message}`, { cause: error });
      }
      return readClip(bytes, { maxSeconds }, file);
    }),
  );
}
