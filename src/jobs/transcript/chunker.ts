import { HearthError } from '../../errors/index.js';
import type { Segment } from './segments.js';

/** A piece of one segment: the whole segment, or one of its sentences when the segment alone is over the budget. */
export interface ChunkLine {
  segment: number;
  speaker: string | undefined;
  text: string;
}

/**
 * A run of the transcript a model sees at once. It owns `lines` (every
 * result traces back to their segments) and sees `context` before them: the
 * end of the chunk before, up to the overlap, for continuity only.
 */
export interface Chunk {
  index: number;
  /** Segments this chunk owns, first and last (inclusive); a segment cut into sentences can be owned by two chunks. */
  segments: { from: number; to: number };
  start: number | undefined;
  end: number | undefined;
  context: ChunkLine[];
  lines: ChunkLine[];
  /** Tokens of the owned lines, by the model's tokenizer. */
  tokens: number;
}

export interface ChunkOptions {
  /** Most tokens a chunk owns (its overlap comes on top). */
  maxTokens: number;
  /** Tokens of the chunk before shown again as context (0: none). */
  overlapTokens: number;
  /** The model's own tokenizer. */
  countTokens: (text: string) => number;
}

const sentences = new Intl.Segmenter(undefined, { granularity: 'sentence' });
const words = new Intl.Segmenter(undefined, { granularity: 'word' });

/**
 * Cuts a transcript into chunks of at most `maxTokens`, on segment
 * boundaries, and inside a segment that is longer than that on sentence
 * boundaries (then on word boundaries, for a sentence that is longer still).
 */
export function chunkSegments(segments: readonly Segment[], options: ChunkOptions): Chunk[] {
  if (!(options.maxTokens >= 8)) throw new HearthError('USAGE', `invalid chunk size: ${options.maxTokens} tokens (at least 8)`, { details: { field: 'chunk_tokens' } });
  if (!(options.overlapTokens >= 0 && options.overlapTokens < options.maxTokens)) {
    throw new HearthError('USAGE', `invalid overlap: ${options.overlapTokens} tokens (0 up to the chunk size)`, { details: { field: 'overlap_tokens' } });
  }
  const units = segments.flatMap((segment) => unitsOf(segment, options));
  const chunks: Chunk[] = [];
  let current: Array<ChunkLine & { tokens: number }> = [];
  let tokens = 0;
  const close = () => {
    if (current.length === 0) return;
    const previous = chunks.at(-1);
    const first = segments[current[0]!.segment]!;
    const last = segments[current.at(-1)!.segment]!;
    chunks.push({
      index: chunks.length,
      segments: { from: first.index, to: last.index },
      start: first.start,
      end: last.end,
      context: previous ? tail(previous.lines, options) : [],
      lines: current.map(({ tokens: _, ...line }) => line),
      tokens,
    });
    current = [];
    tokens = 0;
  };
  for (const unit of units) {
    if (tokens + unit.tokens > options.maxTokens) close();
    current.push(unit);
    tokens += unit.tokens;
  }
  close();
  return chunks;
}

/** A segment as lines of at most the budget: itself, or its sentences, or pieces of them. */
function unitsOf(segment: Segment, o: ChunkOptions): Array<ChunkLine & { tokens: number }> {
  const line = (text: string) => ({ segment: segment.index, speaker: segment.speaker, text, tokens: o.countTokens(text) });
  const whole = line(segment.text);
  if (whole.tokens <= o.maxTokens) return [whole];
  return [...sentences.segment(segment.text)].flatMap(({ segment: sentence }) => {
    const s = line(sentence.trim());
    if (s.text.length === 0) return [];
    return s.tokens <= o.maxTokens ? [s] : pack([...words.segment(sentence)].map((w) => w.segment), o).map(line);
  });
}

/** Words joined into pieces of at most the budget. */
function pack(pieces: readonly string[], o: ChunkOptions): string[] {
  const out: string[] = [];
  let text = '';
  for (const piece of pieces) {
    if (text && o.countTokens(text + piece) > o.maxTokens) {
      out.push(text.trim());
      text = '';
    }
    text += piece;
  }
  if (text.trim()) out.push(text.trim());
  return out;
}

/** The last lines of a chunk, up to the overlap budget. */
function tail(lines: readonly ChunkLine[], o: ChunkOptions): ChunkLine[] {
  const out: ChunkLine[] = [];
  let tokens = 0;
  for (let i = lines.length - 1; i >= 0 && o.overlapTokens > 0; i--) {
    const t = o.countTokens(lines[i]!.text);
    if (tokens + t > o.overlapTokens) break;
    out.unshift(lines[i]!);
    tokens += t;
  }
  return out;
}
