/**
 * SpeechBrain's `EncoderClassifier` front end for one clip: `load_audio` (decode, resample each
 * channel to 16 kHz, average), then `compute_features` (Fbank) and `mean_var_norm` (sentence
 * mean normalization over all frames, as `encode_batch` does for a single clip).
 */
import { fbank, sentenceNormalize, type Fbank } from './fbank.js';
import { toMono16k } from './resample.js';
import { decodeWav } from './wav-decode.js';

/** `EncoderClassifier.load_audio` on WAV bytes: the 16 kHz mono wave. */
export function loadWave(bytes: Uint8Array): Float32Array {
  return toMono16k(decodeWav(bytes));
}

/** Log-mel features [frames, 80] of a 16 kHz mono wave, mean-normalized unless the recipe has no mean_var_norm: the input ECAPA-TDNN takes. */
export function features(wave: Float32Array, sentenceNorm = true): Fbank {
  const { frames, bins, data } = fbank(wave);
  return { frames, bins, data: sentenceNorm ? sentenceNormalize(data, frames, bins) : data };
}
