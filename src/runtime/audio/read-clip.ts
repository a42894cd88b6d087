import { HearthError } from '../../errors/index.js';
import type { AudioInput } from '../types.js';
import { decodeWav } from './wav-decode.js';

export interface ClipLimits {
  /** The longest clip accepted, in seconds. */
  maxSeconds: number;
}

/**
 * A clip whose loudest sample is at or below this is silent: one step of
 * 16-bit PCM (−90 dBFS), so digital silence and the dither of a muted
 * microphone both count, and any audible sound does not.
 */
export const SILENCE_PEAK = 1 / 32768;

/**
 * WAV bytes to a checked clip: decoded (AUDIO_INVALID), not empty
 * (AUDIO_TOO_SHORT), not longer than the limit (AUDIO_TOO_LONG) and not
 * silent (AUDIO_SILENT). `label` names the clip in errors: "clip 2", "a.wav".
 * The model checks its own minimum length when it embeds.
 */
export function readClip(bytes: Uint8Array, limits: ClipLimits, label: string): AudioInput {
  let clip: AudioInput;
  try {
    clip = decodeWav(bytes);
  } catch (error) {
    if (error instanceof HearthError) throw new HearthError(error.code, `${label}: ${error.message}`, { cause: error, details: { ...error.details, clip: label } });
    throw error;
  }
  const samples = clip.channels[0]?.length ?? 0;
  const seconds = samples / clip.sampleRate;
  if (samples === 0) throw new HearthError('AUDIO_TOO_SHORT', `${label} holds no samples`, { details: { clip: label, seconds: 0 } });
  if (seconds > limits.maxSeconds) {
    throw new HearthError('AUDIO_TOO_LONG', `${label} lasts ${seconds.toFixed(1)} s; this server takes clips of up to ${limits.maxSeconds} s`, {
      details: { clip: label, seconds, maxSeconds: limits.maxSeconds },
      hint: 'cut the clip, or raise HEARTH_AUDIO_MAX_SECONDS',
    });
  }
  if (peakOf(clip, label) <= SILENCE_PEAK) {
    throw new HearthError('AUDIO_SILENT', `${label} is silent (no sample above −90 dBFS); a silent clip has no speaker to embed`, { details: { clip: label, seconds } });
  }
  return clip;
}

/** The loudest sample; a float WAV can also hold NaN or infinities, which no model can take. */
function peakOf(clip: AudioInput, label: string): number {
  let peak = 0;
  for (const channel of clip.channels) {
    for (const v of channel) {
      const a = Math.abs(v);
      if (!(a < Infinity)) throw new HearthError('AUDIO_INVALID', `${label} holds a sample that is not a finite number`, { details: { clip: label } });
      if (a > peak) peak = a;
    }
  }
  return peak;
}
