import { z } from 'zod';
import type { Pooling } from '../runtime/types.js';

/**
 * What must be equal for two vectors to be comparable at all. Every field
 * but `ref` enters the model fingerprint; `ref` says where the model was
 * found, which differs from machine to machine for the same bytes.
 */
export interface SpaceModel {
  /** The store reference the space was made with (informative). */
  ref: string;
  format: string;
  architecture: string;
  /** GGUF's dominant tensor type, or the ONNX variant (e.g. "int8"); null for a plain fp32 graph. */
  quantization: string | null;
  /** sha256 of the file the engine loads. */
  weights: string;
  /** sha256 of tokenizer.json for ONNX models; null for GGUF, whose tokenizer lives in the weights file. */
  tokenizer: string | null;
  /** sha256 of every file the model is made of, sorted: weights, external data, tokenizer and configs. */
  files: string[];
  pooling: Pooling | null;
  normalize: boolean;
  dimensions: number;
  /** Tokens an input is cut to (or refused beyond): the truncation rule. */
  maxTokens: number;
}

/** What computes the numbers. A different runtime may or may not compute the same ones: the probe check decides. */
export interface SpaceRuntime {
  engine: string;
  engineVersion: string;
  binding: string;
  device: string;
  /** ggml's CPU kernel variant, or the MLAS feature set ONNX Runtime dispatches to. */
  cpuVariant: string | null;
}

export interface SpaceFingerprints {
  /** sha256 of the canonical model record; different means incompatible. */
  model: string;
  /** sha256 of the canonical runtime record; different means "ask the probes". */
  runtime: string;
  /** sha256 of the probe set id and the stored vectors' bytes. */
  probes: string;
}

/**
 * An embedding space: the model and runtime that made a set of vectors, and
 * the probe vectors that let any other runtime be measured against them.
 * Other parts of hearth (collections) refer to a space by name only.
 */
export interface SpaceRecord {
  format: 'hearth-space';
  version: 1;
  name: string;
  createdAt: string;
  model: SpaceModel;
  runtime: SpaceRuntime;
  probeSet: { id: string; digest: string };
  /** One base64 float32 little-endian vector per probe, in probe order. */
  probeVectors: Float32Array[];
  fingerprints: SpaceFingerprints;
}

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 in hex');

/** The JSON form, as written to disk and by `hearth space export`. */
export const spaceFileSchema = z.object({
  format: z.literal('hearth-space'),
  version: z.literal(1),
  name: z.string().min(1),
  createdAt: z.string().min(1),
  model: z.object({
    ref: z.string().min(1),
    format: z.string().min(1),
    architecture: z.string().min(1),
    quantization: z.string().nullable(),
    weights: sha256,
    tokenizer: sha256.nullable(),
    files: z.array(sha256).min(1),
    pooling: z.enum(['none', 'mean', 'cls', 'last', 'rank']).nullable(),
    normalize: z.boolean(),
    dimensions: z.number().int().positive(),
    // 0 for a speaker model: its input is audio, not tokens.
    maxTokens: z.number().int().nonnegative(),
  }),
  runtime: z.object({
    engine: z.string().min(1),
    engineVersion: z.string().min(1),
    binding: z.string().min(1),
    device: z.string().min(1),
    cpuVariant: z.string().nullable(),
  }),
  probeSet: z.object({ id: z.string().min(1), digest: sha256 }),
  probeVectors: z.array(z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64')).min(1),
  fingerprints: z.object({ model: sha256, runtime: sha256, probes: sha256 }),
});

export type SpaceFile = z.output<typeof spaceFileSchema>;
