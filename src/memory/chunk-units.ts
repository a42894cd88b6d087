import { HearthError } from '../errors/index.js';
import { codePointOffsets, graphemeOffsets, paragraphSpans, sentenceSpans, wordSpans, type Span } from './chunk-segments.js';

/** A piece of text a chunk takes whole, with its token count (counted once, alone). */
export interface Unit extends Span {
  tokens: number;
}

type Count = (text: string) => number;

/**
 * Cuts `text` into units that each fit `budget` tokens, as coarse as they can
 * be: a paragraph that fits is one unit; one that does not becomes its
 * sentences, a sentence that does not fit its words, and a word that does
 * not fit (a base64 blob, a long hash) pieces of as many characters as fit.
 * Units are in order, disjoint, and only whitespace lies between them.
 */
export function unitsOf(text: string, budget: number, count: Count): Unit[] {
  const units: Unit[] = [];
  const split = (span: Span, level: number, known?: number): void => {
    const tokens = known ?? count(text.slice(span.start, span.end));
    if (tokens <= budget) {
      units.push({ ...span, tokens });
      return;
    }
    const finer = level < WORDS ? SPLITTERS[level]!(text, span) : undefined;
    if (!finer) {
      units.push(...characterPieces(text, span, budget, count));
      return;
    }
    // One span as big as this one: go down a level without counting the same text again.
    const same = finer.length === 1 && finer[0]!.start === span.start && finer[0]!.end === span.end;
    for (const part of finer) split(part, level + 1, same ? tokens : undefined);
  };
  for (const paragraph of paragraphSpans(text)) split(paragraph, 0);
  return units;
}

const SPLITTERS = [sentenceSpans, wordSpans] as const;
/** The level whose spans are words: below it, characters. */
const WORDS = SPLITTERS.length;

/**
 * Splits a word into pieces of as many grapheme clusters as fit, each found
 * by an exponential then binary search over exact counts: O(log n) counts a
 * piece, where counting each character alone would call the tokenizer once
 * per character of a megabyte blob. A grapheme cluster over budget (a long
 * emoji sequence on a byte-level tokenizer) is split at code points.
 */
function characterPieces(text: string, span: Span, budget: number, count: Count): Unit[] {
  const pieces: Unit[] = [];
  const graphemes = graphemeOffsets(text, span);
  let guess = budget;
  for (let i = 0; i < graphemes.length - 1; ) {
    const piece = longestFit(text, graphemes, i, guess, budget, count);
    if (piece) {
      pieces.push(piece.unit);
      guess = piece.length;
      i += piece.length;
      continue;
    }
    const cluster = { start: graphemes[i]!, end: graphemes[i + 1]! };
    const points = codePointOffsets(text, cluster);
    for (let j = 0; j < points.length - 1; ) {
      const point = longestFit(text, points, j, 1, budget, count);
      if (!point) {
        const character = text.slice(points[j], points[j + 1]);
        throw new HearthError('USAGE', `maxTokens ${budget} is too small: the character ${JSON.stringify(character)} alone is ${count(character)} tokens`, {
          details: { maxTokens: budget, offset: points[j] },
        });
      }
      pieces.push(point.unit);
      j += point.length;
    }
    i++;
  }
  return pieces;
}

/**
 * The most boundaries-apart piece from `offsets[from]` that counts at most
 * `budget` tokens, or undefined when not even one step fits. Counts need not
 * grow with length (WordPiece makes any word over 100 characters one
 * [UNK]), so the search may settle on a shorter piece than the longest, but
 * every piece it returns was counted and fits.
 */
function longestFit(text: string, offsets: readonly number[], from: number, guess: number, budget: number, count: Count): { unit: Unit; length: number } | undefined {
  const remaining = offsets.length - 1 - from;
  let good = 0;
  let goodTokens = 0;
  let bad = remaining + 1;
  let probe = Math.max(1, Math.min(guess, remaining));
  while (bad - good > 1) {
    const tokens = count(text.slice(offsets[from], offsets[from + probe]));
    if (tokens <= budget) [good, goodTokens] = [probe, tokens];
    else bad = probe;
    probe = bad > remaining ? Math.min(good * 2, remaining) : Math.floor((good + bad) / 2);
  }
  return good === 0 ? undefined : { unit: { start: offsets[from]!, end: offsets[from + good]!, tokens: goodTokens }, length: good };
}
