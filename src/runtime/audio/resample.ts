/**
 * Channels at any rate → one 16 kHz channel, as SpeechBrain's `AudioNormalizer` makes it:
 * torchaudio `Resample(orig, 16000)` (sinc_interp_hann, lowpass_filter_width 6, rolloff 0.99,
 * on the gcd-reduced rates) per channel, then the mean over channels.
 *
 * This follows torchaudio's `_get_sinc_resample_kernel` and `_apply_sinc_resample_kernel`
 * step by step, including where torchaudio rounds to float32 (the output phase offsets
 * `-j / new`, the kernel itself, the target length), but accumulates in float64 where
 * torchaudio's conv1d accumulates in float32: outputs are close to torchaudio's (a few
 * float32 ulps), not bit-exact.
 *
 * The channels are averaged before resampling, not after: resampling is linear, so the result
 * is the same up to rounding, for one resampling instead of one per channel.
 */
import { HearthError } from '../../errors/index.js';
import type { DecodedAudio } from './wav-decode.js';

const LOWPASS_FILTER_WIDTH = 6;
const ROLLOFF = 0.99;
/**
 * Above this no WAV holds audio, and the kernel's span grows with the rate ratio (6·orig/new taps
 * per output sample): a forged header must not buy seconds of CPU.
 */
export const MAX_SAMPLE_RATE = 768000;

/** One polyphase branch per output phase, holding only its non-zero taps. */
interface SincKernel {
  orig: number;
  next: number;
  width: number;
  /** Index of each phase's first non-zero tap inside torchaudio's [2·width + orig] kernel row. */
  starts: Int32Array;
  /** float32 like torchaudio's kernel, which is all they hold after its cast. */
  taps: Float32Array[];
}

/** A few rates cover nearly all clips; odd rates (gcd 1 with 16 kHz) make kernels of megabytes, so the cache is bounded. */
const MAX_CACHED_KERNELS = 8;
const kernels = new Map<string, SincKernel>();

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** torchaudio's kernel value at tap `m` of phase `j` (before its float32 cast). */
function kernelValue(m: number, phaseOffset: number, orig: number, width: number, baseFreq: number): number {
  let t = (phaseOffset + (m - width) / orig) * baseFreq;
  t = Math.min(LOWPASS_FILTER_WIDTH, Math.max(-LOWPASS_FILTER_WIDTH, t));
  const window = Math.cos((t * Math.PI) / LOWPASS_FILTER_WIDTH / 2) ** 2;
  t *= Math.PI;
  const scale = baseFreq / orig;
  const sinc = t === 0 ? 1 : Math.sin(t) / t;
  return sinc * (window * scale);
}

/**
 * torchaudio evaluates every tap of a [new, 2·width + orig] kernel, which is huge for rates with a
 * small gcd (44 099 → 16 000 would be 706 M taps); only |t| < 6 can be non-zero (at the clamp, the
 * Hann window is cos²(π/2) and the float32 cast flushes the product to 0), so only that span,
 * widened by a tap each side, is evaluated here and then trimmed to its non-zero taps.
 */
function sincKernel(origRate: number, newRate: number): SincKernel {
  const divisor = gcd(origRate, newRate);
  const orig = origRate / divisor;
  const next = newRate / divisor;
  const key = `${orig}/${next}`;
  const cached = kernels.get(key);
  if (cached !== undefined) return cached;

  const baseFreq = Math.min(orig, next) * ROLLOFF;
  const width = Math.ceil((LOWPASS_FILTER_WIDTH * orig) / baseFreq);
  const rowLength = 2 * width + orig;
  const reach = (LOWPASS_FILTER_WIDTH / baseFreq) * orig;
  const starts = new Int32Array(next);
  const taps: Float32Array[] = [];
  for (let j = 0; j < next; j++) {
    // torchaudio: arange(0, -new, -1) / new is an int64 tensor divided into float32.
    const phaseOffset = Math.fround(-j / next);
    const centre = width - phaseOffset * orig;
    const from = Math.max(0, Math.floor(centre - reach) - 1);
    const to = Math.min(rowLength - 1, Math.ceil(centre + reach) + 1);
    const row = new Float64Array(to - from + 1);
    for (let m = from; m <= to; m++) row[m - from] = Math.fround(kernelValue(m, phaseOffset, orig, width, baseFreq));
    let first = 0;
    let last = row.length - 1;
    while (first <= last && row[first] === 0) first++;
    while (last >= first && row[last] === 0) last--;
    starts[j] = from + first;
    taps.push(Float32Array.from(row.subarray(first, last + 1)));
  }
  const kernel = { orig, next, width, starts, taps };
  if (kernels.size >= MAX_CACHED_KERNELS) kernels.delete(kernels.keys().next().value!);
  kernels.set(key, kernel);
  return kernel;
}

/**
 * The length torchaudio's resampler gives `samples` samples at `origRate`: ceil(new·length / orig)
 * on the gcd-reduced rates, taken (torchaudio >= 2) of a float32 tensor made from the Python float,
 * so for long clips the quotient can round down onto an integer and give one sample fewer than the
 * exact ceiling.
 */
export function resampledLength(samples: number, origRate: number, targetRate = 16000): number {
  if (origRate === targetRate) return samples;
  const divisor = gcd(origRate, targetRate);
  return Math.ceil(Math.fround(((targetRate / divisor) * samples) / (origRate / divisor)));
}

/**
 * torchaudio's `resample` of one channel: pad `width` zeros before and `width + orig` after,
 * a strided polyphase convolution, then the first ceil(new·length / orig) samples.
 */
export function resampleChannel(wave: Float32Array, origRate: number, newRate: number): Float32Array {
  if (origRate === newRate) return wave.slice();
  const { orig, next, width, starts, taps } = sincKernel(origRate, newRate);
  const outLength = resampledLength(wave.length, origRate, newRate);
  const out = new Float32Array(outLength);
  // Tap m of output block b reads padded[b·orig + m] = wave[b·orig + m − width]; the zero padding
  // is skipped by clamping m rather than materialised (it is 2·width + orig long).
  for (let i = 0, block = 0; i < outLength; block++) {
    for (let j = 0; j < next && i < outLength; j++, i++) {
      const row = taps[j]!;
      const offset = block * orig + starts[j]! - width;
      const from = Math.max(0, -offset);
      const to = Math.min(row.length, wave.length - offset);
      let acc = 0;
      for (let m = from; m < to; m++) acc += wave[offset + m]! * row[m]!;
      out[i] = acc;
    }
  }
  return out;
}

/** The channels' mean at `targetRate`: a fresh array; at the same rate, mono is copied unchanged. */
export function toMono16k(decoded: DecodedAudio, targetRate = 16000): Float32Array {
  const { channels, sampleRate } = decoded;
  const first = channels[0];
  if (first === undefined) throw new HearthError('AUDIO_INVALID', 'the audio has no channels');
  if (!Number.isInteger(sampleRate) || sampleRate <= 0 || sampleRate > MAX_SAMPLE_RATE || !Number.isInteger(targetRate) || targetRate <= 0) {
    throw new HearthError('AUDIO_INVALID', `cannot resample from ${sampleRate} Hz to ${targetRate} Hz`);
  }
  let mono = first;
  if (channels.length > 1) {
    mono = new Float32Array(first.length);
    for (const channel of channels) {
      if (channel.length !== first.length) throw new HearthError('AUDIO_INVALID', 'the channels differ in length');
    }
    for (let i = 0; i < mono.length; i++) {
      let sum = 0;
      for (const channel of channels) sum += channel[i]!;
      mono[i] = sum / channels.length;
    }
  }
  if (sampleRate === targetRate) return mono === first ? first.slice() : mono;
  return resampleChannel(mono, sampleRate, targetRate);
}
