import { z } from 'zod';
import { HearthError } from '../errors/index.js';

/**
 * A ready-made ONNX speaker-embedding export is served when its folder (or
 * repo) has this sidecar beside the graph, declaring what the graph takes:
 * an ONNX file alone cannot say which front end made its input features.
 */
export const SPEAKER_SIDECAR = 'hearth-speaker.json';

/** True when a model's files (repo-relative paths) are an ONNX graph with the speaker sidecar beside it. */
export function isSpeakerExport(primary: string, paths: readonly string[]): boolean {
  return primary.toLowerCase().endsWith('.onnx') && paths.some((p) => p === SPEAKER_SIDECAR || p.endsWith(`/${SPEAKER_SIDECAR}`));
}

const sidecarSchema = z
  .object({
    format: z.literal('hearth-speaker'),
    version: z.literal(1),
    architecture: z.string().min(1).default('speaker-embedding'),
    /** The front end the graph was trained on; SpeechBrain's Fbank is the one hearth computes. */
    features: z
      .object({
        type: z.literal('speechbrain-fbank'),
        sample_rate: z.literal(16000),
        n_mels: z.literal(80),
        /** Per-utterance mean normalization before the graph (SpeechBrain's InputNormalization, sentence). */
        sentence_norm: z.boolean(),
      })
      .strict(),
    /** Input names: features [batch, frames, 80], and relative lengths [batch] when the graph takes them. */
    inputs: z.object({ features: z.string().min(1), lengths: z.string().min(1).optional() }).strict(),
    /** The output: [batch, dims] or [batch, 1, dims]. */
    output: z.string().min(1),
    /** The shortest clip the graph takes, in seconds (its convolutions' reach). */
    min_seconds: z.number().positive().max(10).default(0.1),
    /** A global mean to subtract when a caller asks for normalize (SpeechBrain's mean_var_norm_emb). */
    embedding_mean: z.array(z.number()).min(1).optional(),
  })
  .strict();

export type SpeakerSidecar = z.output<typeof sidecarSchema>;

/** The sidecar's JSON text, checked; anything hearth would have to guess is MODEL_UNSUPPORTED. */
export function parseSpeakerSidecar(text: string, what: string): SpeakerSidecar {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new HearthError('MODEL_UNSUPPORTED', `${what}: ${SPEAKER_SIDECAR} is not JSON: ${(error as Error).message}`, { cause: error });
  }
  const parsed = sidecarSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new HearthError('MODEL_UNSUPPORTED', `${what}: ${SPEAKER_SIDECAR}: ${issue.path.join('.') || 'the file'}: ${issue.message}`, { cause: parsed.error, details: { field: issue.path.join('.') } });
  }
  return parsed.data;
}
