/**
 * SpeechBrain's own outputs for the ECAPA reference repo named by HEARTH_TEST_ECAPA
 * (`../shared/audio/ecapa-small`, set by .ci/run; its README gives shapes and tolerances).
 * Tests that need it skip without it, as real-model tests do without HEARTH_TEST_MODEL.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ECAPA_DIR: string | undefined = process.env.HEARTH_TEST_ECAPA || undefined;
export const ECAPA_SKIP = ECAPA_DIR === undefined ? 'HEARTH_TEST_ECAPA is not set' : false;

/** Suggested tolerances from the reference README (10× SpeechBrain float32 against float64). */
export const ECAPA_TOLERANCE = { wave: 1e-7, fbankDb: 0.02, embedding: 2e-5, scores: 8e-7 } as const;

export interface EcapaClip {
  name: string;
  wavPath: string;
  samples: number;
  frames: number;
}

export interface EcapaManifest {
  batch: { order: string[]; samples: number[]; max_samples: number; wav_lens: number[] };
  clips: Record<string, { samples_16k: number; frames: number; predicted_index: number; predicted_label: string }>;
  model: { channels: number[]; lin_neurons: number; attention_channels: number; labels: string[] };
}

function dir(): string {
  if (ECAPA_DIR === undefined) throw new Error('HEARTH_TEST_ECAPA is not set');
  return ECAPA_DIR;
}

export function ecapaManifest(): EcapaManifest {
  return JSON.parse(readFileSync(join(dir(), 'reference', 'manifest.json'), 'utf8')) as EcapaManifest;
}

export function ecapaClips(): EcapaClip[] {
  const manifest = ecapaManifest();
  return manifest.batch.order.map((name) => ({
    name,
    wavPath: join(dir(), 'reference', `${name}.wav`),
    samples: manifest.clips[name]!.samples_16k,
    frames: manifest.clips[name]!.frames,
  }));
}

/** A raw little-endian float32 file from `reference/`, e.g. `a1_enus_m.fbank.f32`. */
export function referenceF32(file: string): Float32Array {
  const bytes = readFileSync(join(dir(), 'reference', file));
  const out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
}

/** The largest |a[i] − b[i]|; lengths must agree. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`lengths differ: ${a.length} against ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}
