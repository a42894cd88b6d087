import { mulberry32 } from './texts.js';

/**
 * Deterministic speech-like clips for the speaker benchmarks: a voiced source (harmonics of a pitch that glides
 * and wobbles around a per-clip base, as intonation does) shaped by three formants that move from syllable to
 * syllable, under a syllable-rate amplitude envelope with pauses between words, plus a little breath noise. Not
 * speech, but with speech's spectral and temporal structure, so Fbank and the network see realistic-looking
 * features rather than a tone. Seeded: every run, and both sides of a comparison, get the same samples.
 */
export interface SpeechClipOptions {
  count: number;
  seconds: number;
  sampleRate: number;
  seed: number;
}

/** Top of the harmonic series (telephone-ish bandwidth keeps it cheap; ECAPA's Fbank spans 0–8 kHz). */
const MAX_HARMONIC_HZ = 4000;

export function speechClips(options: SpeechClipOptions): Float32Array[] {
  return Array.from({ length: options.count }, (_, k) => speechClip(options, k));
}

function speechClip({ seconds, sampleRate, seed }: SpeechClipOptions, index: number): Float32Array {
  const rand = mulberry32((seed * 1_000_003 + index * 7919) >>> 0);
  const between = (lo: number, hi: number) => lo + (hi - lo) * rand();
  const n = Math.round(seconds * sampleRate);
  const base = between(85, 240);
  const syllableRate = between(3.5, 5.5);
  const syllables = Math.ceil(seconds * syllableRate) + 2;
  // One formant target per syllable; formants glide between neighbours.
  const targets = Array.from({ length: syllables }, () => [between(280, 850), between(850, 2400), between(2300, 3200)]);
  // Roughly one word in four syllables is followed by a short pause.
  const voiced = Array.from({ length: syllables }, () => rand() > 0.22);
  const phase = [between(0, 6.28), between(0, 6.28)];
  const noise = mulberry32((seed ^ (index * 104729)) >>> 0);
  const out = new Float32Array(n);
  let pitchPhase = 0;
  let peak = 0;
  for (let i = 0; i < n; i++) {
    const t = i / sampleRate;
    const f0 = base * (1 + 0.12 * Math.sin(2 * Math.PI * 0.6 * t + phase[0]!) + 0.03 * Math.sin(2 * Math.PI * 5.5 * t + phase[1]!));
    pitchPhase += (2 * Math.PI * f0) / sampleRate;
    const s = t * syllableRate;
    const at = Math.floor(s);
    const frac = s - at;
    const envelope = voiced[at % syllables] ? Math.sin(Math.PI * frac) ** 0.7 : 0;
    const from = targets[at % syllables]!;
    const to = targets[(at + 1) % syllables]!;
    const glide = frac * frac * (3 - 2 * frac);
    let sample = 0;
    if (envelope > 0) {
      for (let h = 1; h * f0 < MAX_HARMONIC_HZ; h++) {
        const hz = h * f0;
        let gain = 0;
        for (let f = 0; f < 3; f++) {
          const centre = from[f]! + (to[f]! - from[f]!) * glide;
          const width = 60 + 0.06 * centre;
          gain += 1 / (1 + ((hz - centre) / width) ** 2) / (f + 1);
        }
        // A glottal source falls off about 12 dB per octave.
        sample += (gain / h) * Math.sin(h * pitchPhase);
      }
    }
    out[i] = envelope * sample + 0.004 * (noise() * 2 - 1);
    peak = Math.max(peak, Math.abs(out[i]!));
  }
  const scale = 0.5 / (peak || 1);
  for (let i = 0; i < n; i++) out[i]! *= scale;
  return out;
}
