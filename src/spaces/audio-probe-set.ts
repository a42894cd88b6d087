import { createHash } from 'node:crypto';
import type { AudioInput } from '../runtime/types.js';

/**
 * The clips every speaker-model space is checked with, the audio twin of
 * probe-set.ts: fixed for ever under their id. They are synthesized rather
 * than recorded (no binary in the repository), from integer arithmetic and
 * then quantized to 16-bit PCM, so every machine makes the same samples;
 * their digest is pinned by a test.
 *
 * Chosen to reach where runtimes disagree: voiced sounds at low and high
 * pitch, syllable envelopes, noise, a quiet clip, very short and long clips
 * (the network's reflect padding and its statistics pooling over time), and
 * other rates and stereo, which go through the resampler and the downmix.
 */
export const AUDIO_PROBE_SET_ID = 'hearth-audio-probes/1';

interface ProbeSpec {
  rate: number;
  seconds: number;
  channels: number;
  /** Fundamental frequency of the voiced part, Hz. */
  f0: number;
  /** Syllables per second of the amplitude envelope (0: steady). */
  syllables: number;
  /** Share of noise in the mix, 0 to 1. */
  noise: number;
  gain: number;
}

const SPECS: readonly ProbeSpec[] = [
  { rate: 16000, seconds: 0.25, channels: 1, f0: 120, syllables: 0, noise: 0.05, gain: 0.5 },
  { rate: 16000, seconds: 1, channels: 1, f0: 110, syllables: 4, noise: 0.1, gain: 0.6 },
  { rate: 16000, seconds: 1, channels: 1, f0: 220, syllables: 4, noise: 0.1, gain: 0.6 },
  { rate: 16000, seconds: 3, channels: 1, f0: 135, syllables: 5, noise: 0.15, gain: 0.5 },
  { rate: 16000, seconds: 3, channels: 1, f0: 135, syllables: 5, noise: 0.15, gain: 0.05 },
  { rate: 16000, seconds: 3, channels: 1, f0: 260, syllables: 3, noise: 0.2, gain: 0.5 },
  { rate: 16000, seconds: 2, channels: 1, f0: 0, syllables: 0, noise: 1, gain: 0.3 },
  { rate: 16000, seconds: 8, channels: 1, f0: 180, syllables: 4, noise: 0.1, gain: 0.5 },
  { rate: 44100, seconds: 2, channels: 2, f0: 150, syllables: 4, noise: 0.1, gain: 0.5 },
  { rate: 8000, seconds: 1.5, channels: 1, f0: 200, syllables: 5, noise: 0.1, gain: 0.5 },
  { rate: 48000, seconds: 1.2, channels: 1, f0: 95, syllables: 3, noise: 0.05, gain: 0.7 },
];

/**
 * A voiced buzz (harmonics 1–12 with a 1/h roll-off and a slow pitch wobble)
 * plus noise from a 32-bit LCG, shaped by a raised-cosine syllable envelope.
 * Math.sin is V8's own fdlibm port, the same on every platform, and the
 * 16-bit rounding absorbs any last-bit difference.
 */
function synthesize(spec: ProbeSpec, index: number): AudioInput {
  const n = Math.round(spec.seconds * spec.rate);
  let state = (0x9e3779b9 ^ index) >>> 0;
  const channels = Array.from({ length: spec.channels }, () => new Float32Array(n));
  let phase = 0;
  for (let i = 0; i < n; i++) {
    const t = i / spec.rate;
    const f0 = spec.f0 * (1 + 0.03 * Math.sin(2 * Math.PI * 2.5 * t));
    phase += (2 * Math.PI * f0) / spec.rate;
    let voiced = 0;
    if (spec.f0 > 0) for (let h = 1; h <= 12; h++) voiced += Math.sin(h * phase) / h;
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const noise = state / 2 ** 31 - 1;
    const envelope = spec.syllables > 0 ? 0.55 - 0.45 * Math.cos(2 * Math.PI * spec.syllables * t) : 1;
    const sample = spec.gain * envelope * ((1 - spec.noise) * 0.35 * voiced + spec.noise * noise);
    const pcm = Math.max(-32768, Math.min(32767, Math.round(sample * 32768)));
    channels.forEach((channel, c) => (channel[i] = (c === 0 ? pcm : Math.round(pcm * 0.8)) / 32768));
  }
  return { sampleRate: spec.rate, channels };
}

let cached: readonly AudioInput[] | undefined;

/** The probe clips, in their fixed order (made once per process). */
export function audioProbes(): readonly AudioInput[] {
  cached ??= Object.freeze(SPECS.map(synthesize));
  return cached;
}

/** sha256 of the probes' rates and 16-bit samples, so a space file says exactly which clips its vectors are of. */
export function audioProbeSetDigest(): string {
  const hash = createHash('sha256');
  for (const clip of audioProbes()) {
    hash.update(`${clip.sampleRate}:${clip.channels.length}:${clip.channels[0]!.length}\n`);
    for (const channel of clip.channels) hash.update(Int16Array.from(channel, (v) => Math.round(v * 32768)));
  }
  return hash.digest('hex');
}
