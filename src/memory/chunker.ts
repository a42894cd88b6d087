import { HearthError } from '../errors/index.js';
import { sentenceSpans, wordSpans, type Span } from './chunk-segments.js';
import { unitsOf, type Unit } from './chunk-units.js';

/** A piece of a document, embedded as one input. */
export interface Chunk {
  index: number;
  /** `text.slice(start, end)` of the document: trimmed, never empty. */
  text: string;
  /** countTokens(text): the model's count, without the special tokens embed() adds. */
  tokens: number;
  /** UTF-16 offsets into the document. */
  start: number;
  end: number;
}

export interface ChunkOptions {
  /** The most tokens a chunk may count; for a model, `maxInputTokens - specialTokens` (see chunkBudget). */
  maxTokens: number;
  /** The most tokens of the previous chunk's end that a chunk repeats at its start; less than maxTokens. */
  overlapTokens: number;
  /** The model's own count (LoadedModel.countTokens). */
  countTokens: (text: string) => number;
}

/** The largest chunk a model embeds whole: its input limit less the special tokens it adds to every input. */
export function chunkBudget(model: { maxInputTokens: number; specialTokens: number }): number {
  return model.maxInputTokens - model.specialTokens;
}

/**
 * Cuts a document into chunks of at most `maxTokens` tokens, by the model's
 * own tokenizer. A chunk ends at a paragraph break where it can, else at a
 * sentence end, else between words, else (inside a word longer than a
 * chunk) between characters; it takes as many whole units as fit. Each
 * chunk after the first starts with the previous one's trailing whole
 * sentences, or failing that whole words, up to `overlapTokens` tokens.
 *
 * Tokens are counted once per unit; a chunk's sum of unit counts is only an
 * estimate, because WordPiece and BPE tokenize differently across a join,
 * so the chunk is counted again before it is emitted and gives back a unit
 * when it overshoots. That keeps a megabyte document linear in its size.
 * Packing and overlap are written here rather than taken from a text
 * splitter library: none of hearth's dependencies splits by a caller's
 * token count with these guarantees.
 */
export function chunkText(text: string, options: ChunkOptions): Chunk[] {
  const { maxTokens, overlapTokens, countTokens } = checked(options);
  if (text.trim() === '') throw new HearthError('USAGE', 'empty document');
  const units = unitsOf(text, maxTokens, countTokens);
  const count = (start: number, end: number): number => countTokens(text.slice(start, end));
  const chunks: Chunk[] = [];
  let overlap: Lead | undefined;
  for (let next = 0; next < units.length; ) {
    const taken = pack(units, next, overlap, maxTokens, count);
    if (!taken) {
      // Joined, the overlap and the next unit count more than their parts: that chunk goes without one.
      overlap = undefined;
      continue;
    }
    const start = overlap?.start ?? units[next]!.start;
    const end = units[taken.end - 1]!.end;
    chunks.push({ index: chunks.length, text: text.slice(start, end), tokens: taken.tokens, start, end });
    next = taken.end;
    // An overlap as long as the next unit leaves room for: overlap never pushes a unit out of its chunk.
    const room = next < units.length ? Math.min(overlapTokens, maxTokens - units[next]!.tokens) : 0;
    overlap = room > 0 ? trailingLead(text, { start, end }, room, count) : undefined;
  }
  return chunks;
}

/** Text a chunk starts with before its own units: where it starts, and its exact count. */
interface Lead {
  start: number;
  tokens: number;
}

/**
 * The units a chunk starting at `units[from]` (after `lead`) takes: the
 * exclusive end index, at least from + 1, and the chunk's exact count; or
 * undefined when the lead and that one unit do not fit together.
 */
function pack(units: readonly Unit[], from: number, lead: Lead | undefined, max: number, count: (start: number, end: number) => number): { end: number; tokens: number } | undefined {
  const start = lead?.start ?? units[from]!.start;
  const exact = (end: number): number => count(start, units[end - 1]!.end);
  const greedy = (end: number, estimate: number): number => {
    while (end < units.length && estimate + units[end]!.tokens <= max) estimate += units[end++]!.tokens;
    return end;
  };
  if (!lead) {
    // A unit alone was counted alone: no need to count it again.
    const alone = { end: from + 1, tokens: units[from]!.tokens };
    return fill(alone);
  }
  let end = greedy(from, lead.tokens);
  if (end === from) return undefined;
  let tokens = exact(end);
  if (tokens > max) {
    // Joins made it longer than the units' sum: give back one unit, and search if that is not enough.
    const fit = largestFitting(from + 1, end - 1, exact, max);
    if (!fit) return undefined;
    ({ end, tokens } = fit);
  }
  return fill({ end, tokens });

  /** Joins can also make a chunk shorter than its sum: take more units while the estimate says they fit. */
  function fill(taken: { end: number; tokens: number }): { end: number; tokens: number } {
    for (;;) {
      const end = greedy(taken.end, taken.tokens);
      if (end === taken.end) return taken;
      const tokens = exact(end);
      if (tokens > max) {
        const fit = largestFitting(taken.end + 1, end - 1, exact, max);
        return fit ?? taken;
      }
      taken = { end, tokens };
    }
  }
}

/** The largest end in [low, high] whose chunk fits, trying `high` first (one unit given back is the usual case), then bisecting. */
function largestFitting(low: number, high: number, exact: (end: number) => number, max: number): { end: number; tokens: number } | undefined {
  if (high < low) return undefined;
  const first = exact(high);
  if (first <= max) return { end: high, tokens: first };
  let best: { end: number; tokens: number } | undefined;
  let hi = high - 1;
  while (low <= hi) {
    const mid = Math.floor((low + hi) / 2);
    const tokens = exact(mid);
    if (tokens <= max) {
      best = { end: mid, tokens };
      low = mid + 1;
    } else hi = mid - 1;
  }
  return best;
}

/**
 * The overlap the chunk after `chunk` starts with: the chunk's trailing whole
 * sentences up to `budget` tokens, or when its last sentence alone is over,
 * its trailing whole words. Never the whole chunk, so the next chunk always
 * starts later than this one did.
 */
function trailingLead(text: string, chunk: Span, budget: number, count: (start: number, end: number) => number): Lead | undefined {
  // Only the chunk's tail can fit (see MAX_CHARS_PER_TOKEN): segment that, not the whole chunk. The tail's
  // first segment may be cut short, or be the chunk's first, so it never starts an overlap.
  const tail = { start: Math.max(chunk.start, chunk.end - budget * MAX_CHARS_PER_TOKEN), end: chunk.end };
  const sentences = sentenceSpans(text, tail);
  const bySentence = trailing(sentences.slice(1), chunk.end, budget, count);
  if (bySentence || sentences.length === 0) return bySentence;
  const last = sentences.at(-1)!;
  const words = wordSpans(text, { start: last.start, end: chunk.end });
  return trailing(sentences.length === 1 ? words.slice(1) : words, chunk.end, budget, count);
}

/**
 * Text longer than this many characters a token is taken not to fit the
 * overlap without counting it: otherwise a chunk that ends inside a long run
 * without sentence ends (a Markdown table, a log) would segment and count
 * that whole run again for each chunk, to learn that it is too long. Prose
 * runs 3–5 characters a token; text it wrongly leaves out only makes the
 * overlap shorter.
 */
const MAX_CHARS_PER_TOKEN = 8;

/** The longest run of `spans`' tail, through `end`, that counts at most `budget` tokens. */
function trailing(spans: readonly Span[], end: number, budget: number, count: (start: number, end: number) => number): Lead | undefined {
  let first = spans.length;
  for (let sum = 0; first > 0; first--) {
    const span = spans[first - 1]!;
    if (span.end - span.start > (budget - sum) * MAX_CHARS_PER_TOKEN) break;
    sum += count(span.start, span.end);
    if (sum > budget) break;
  }
  // The sum of parts only estimates the whole; give back spans until the whole fits.
  for (; first < spans.length; first++) {
    const tokens = count(spans[first]!.start, end);
    if (tokens <= budget) return { start: spans[first]!.start, tokens };
  }
  return undefined;
}

function checked(options: ChunkOptions): ChunkOptions {
  const { maxTokens, overlapTokens } = options;
  if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new HearthError('USAGE', `maxTokens must be a positive integer, got ${maxTokens}`);
  if (!Number.isInteger(overlapTokens) || overlapTokens < 0 || overlapTokens >= maxTokens) {
    throw new HearthError('USAGE', `overlapTokens must be an integer from 0 to maxTokens - 1 (${maxTokens - 1}), got ${overlapTokens}`);
  }
  return options;
}
