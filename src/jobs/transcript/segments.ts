import { z } from 'zod';

/** One stretch of a transcript: what was said, when (seconds) and by whom, when known. */
export interface Segment {
  /** Position in the transcript, from 0: every result is traced back to these. */
  index: number;
  start: number | undefined;
  end: number | undefined;
  speaker: string | undefined;
  text: string;
}

/** A JSON transcript's segment, as speech-to-text tools write them (Whisper's `start`/`end` in seconds). */
export const jsonSegment = z
  .object({
    start: z.number().nonnegative().optional(),
    end: z.number().nonnegative().optional(),
    speaker: z.string().optional(),
    text: z.string(),
  })
  .loose()
  .refine((s) => s.start === undefined || s.end === undefined || s.end >= s.start, { message: 'end is before start', path: ['end'] });

/** A bare array of segments, or an object with `segments` (Whisper's and WhisperX's JSON); picked by shape, so an error names its segment. */
export function jsonTranscriptSchema(value: unknown) {
  return Array.isArray(value) ? z.array(jsonSegment) : z.object({ segments: z.array(jsonSegment) }).loose().transform((t) => t.segments);
}
