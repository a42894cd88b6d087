/**
 * SpeechBrain's `speechbrain.lobes.features.Fbank` with the defaults ECAPA-TDNN uses at 16 kHz
 * (SpeechBrain 1.0.4: `STFT` + `spectral_magnitude` + `Filterbank`), and the sentence mean
 * normalization of `InputNormalization(norm_type='sentence', std_norm=False)`.
 *
 * - STFT: `torch.stft` centred, 200 zeros each side (pad_mode 'constant'), periodic Hamming
 *   window of 400, hop 160: frames = 1 + floor(samples / 160); power = re² + im².
 * - Filterbank: 80 triangles in Hz, centres at mel points spaced evenly over mel(0)..mel(8000)
 *   (mel = 2595·log10(1 + f/700)); each triangle is symmetric, its half-width the distance to
 *   the previous mel point (`band = hz[1:] − hz[:-1]`, then `band[:-1]`), peak 1.
 * - dB: 10·log10(max(x, 1e-10)) (ref 1), then max(x, max over the whole utterance − 80).
 *
 * SpeechBrain computes all of this in float32; here the spectrum, the filter matrix and the
 * logs are float64, rounded to float32 at the end. Against SpeechBrain's own outputs that
 * differs by about 1e-3 dB at most, in low-energy bins near the 80 dB floor.
 */
import { HearthError } from '../../errors/index.js';
import { RealFft } from './real-fft.js';

export const FBANK_SAMPLE_RATE = 16000;
export const N_FFT = 400;
export const HOP_LENGTH = 160;
export const N_MELS = 80;
const TOP_DB = 80;
const AMIN = 1e-10;

export interface Fbank {
  frames: number;
  bins: typeof N_MELS;
  /** Row-major [frames, 80], log-mel energies in dB. */
  data: Float32Array;
}

interface MelFilter {
  firstBin: number;
  weights: Float64Array;
}

function toMel(hz: number): number {
  return 2595 * Math.log10(1 + hz / 700);
}

function toHz(mel: number): number {
  return 700 * (10 ** (mel / 2595) - 1);
}

/** torch.linspace: the first half counts up from start, the second half down from end. */
function linspace(start: number, end: number, steps: number): Float64Array {
  const out = new Float64Array(steps);
  const step = (end - start) / (steps - 1);
  const halfway = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) out[i] = i < halfway ? start + step * i : end - step * (steps - 1 - i);
  return out;
}

/** `Filterbank._triangular_filters`, keeping each filter's non-zero span only (a few bins each). */
function melFilters(): MelFilter[] {
  const hz = linspace(toMel(0), toMel(FBANK_SAMPLE_RATE / 2), N_MELS + 2).map(toHz);
  const freqs = linspace(0, FBANK_SAMPLE_RATE / 2, N_FFT / 2 + 1);
  const filters: MelFilter[] = [];
  for (let i = 0; i < N_MELS; i++) {
    const centre = hz[i + 1]!;
    const band = hz[i + 1]! - hz[i]!;
    const row = Array.from(freqs, (f) => {
      const slope = (f - centre) / band;
      return Math.max(0, Math.min(slope + 1, 1 - slope));
    });
    const first = row.findIndex((w) => w > 0);
    let last = row.length - 1;
    while (last > first && row[last] === 0) last--;
    filters.push({ firstBin: first, weights: Float64Array.from(row.slice(first, last + 1)) });
  }
  return filters;
}

/** torch.hamming_window(400), periodic. */
function hammingWindow(length: number): Float64Array {
  const out = new Float64Array(length);
  for (let n = 0; n < length; n++) out[n] = 0.54 - 0.46 * Math.cos((2 * Math.PI * n) / length);
  return out;
}

let tables: { window: Float64Array; filters: MelFilter[]; fft: RealFft } | undefined;

function fbankTables(): NonNullable<typeof tables> {
  tables ??= { window: hammingWindow(N_FFT), filters: melFilters(), fft: new RealFft(N_FFT) };
  return tables;
}

/** Log-mel filterbank features of a 16 kHz mono wave, as SpeechBrain's `Fbank(n_mels=80)` gives them. */
export function fbank(wave: Float32Array): Fbank {
  const { window, filters, fft } = fbankTables();
  const frames = 1 + Math.floor(wave.length / HOP_LENGTH);
  const data = new Float64Array(frames * N_MELS);
  const frame = new Float64Array(N_FFT);
  const re = new Float64Array(fft.bins);
  const im = new Float64Array(fft.bins);
  const power = new Float64Array(fft.bins);
  const pad = N_FFT / 2;
  let max = -Infinity;
  for (let t = 0; t < frames; t++) {
    const start = t * HOP_LENGTH - pad;
    if (start >= 0 && start + N_FFT <= wave.length) {
      for (let n = 0; n < N_FFT; n++) frame[n] = wave[start + n]! * window[n]!;
    } else {
      for (let n = 0; n < N_FFT; n++) {
        const at = start + n;
        frame[n] = at >= 0 && at < wave.length ? wave[at]! * window[n]! : 0;
      }
    }
    fft.forward(frame, re, im);
    for (let k = 0; k < fft.bins; k++) power[k] = re[k]! * re[k]! + im[k]! * im[k]!;
    const row = t * N_MELS;
    for (let i = 0; i < N_MELS; i++) {
      const { firstBin, weights } = filters[i]!;
      let energy = 0;
      for (let k = 0; k < weights.length; k++) energy += weights[k]! * power[firstBin + k]!;
      const db = 10 * Math.log10(Math.max(energy, AMIN));
      data[row + i] = db;
      if (db > max) max = db;
    }
  }
  const floor = max - TOP_DB;
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = Math.max(data[i]!, floor);
  return { frames, bins: N_MELS, data: out };
}

/**
 * How many frames SpeechBrain's padding mask keeps for a relative length: frames t with
 * t < rel·T − 1e-6, evaluated in float32 as `make_padding_mask` does.
 */
export function validFrameCount(relativeLength: number, frames: number): number {
  const limit = Math.fround(Math.fround(Math.fround(relativeLength) * frames) - Math.fround(1e-6));
  return Math.max(0, Math.min(frames, Math.ceil(limit)));
}

/**
 * `InputNormalization(norm_type='sentence', std_norm=False)`: each bin minus its mean over the
 * first `validFrames` frames (the real ones of a padded batch row); padded frames are shifted too,
 * as SpeechBrain does. Returns a new array.
 */
export function sentenceNormalize(feats: Float32Array, frames: number, bins: number, validFrames = frames): Float32Array {
  if (feats.length !== frames * bins) {
    throw new HearthError('INTERNAL', `features hold ${feats.length} values, not ${frames}×${bins}`);
  }
  if (!Number.isInteger(validFrames) || validFrames < 1 || validFrames > frames) {
    throw new HearthError('INTERNAL', `validFrames must be 1..${frames}, got ${validFrames}`);
  }
  const mean = new Float64Array(bins);
  for (let t = 0; t < validFrames; t++) {
    for (let b = 0; b < bins; b++) mean[b]! += feats[t * bins + b]!;
  }
  for (let b = 0; b < bins; b++) mean[b]! /= validFrames;
  const out = new Float32Array(feats.length);
  for (let t = 0; t < frames; t++) {
    for (let b = 0; b < bins; b++) out[t * bins + b] = feats[t * bins + b]! - mean[b]!;
  }
  return out;
}
