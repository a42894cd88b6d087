/**
 * The boundaries a chunk may end at, coarsest first: paragraphs, sentences,
 * words, user-perceived characters (grapheme clusters), code points. Every
 * span is a half-open range of UTF-16 offsets into the original text,
 * trimmed of whitespace at both ends and never empty.
 */
export interface Span {
  start: number;
  end: number;
}

// One fixed locale: the runtime's default would make chunk boundaries depend on the machine's LANG.
// UAX #29's rules are the same for every language; CJK and Thai words come from ICU's dictionaries either way.
const LOCALE = 'en';
const sentenceSegmenter = new Intl.Segmenter(LOCALE, { granularity: 'sentence' });
const wordSegmenter = new Intl.Segmenter(LOCALE, { granularity: 'word' });
const graphemeSegmenter = new Intl.Segmenter(LOCALE, { granularity: 'grapheme' });

/**
 * A blank line (a line break, optional spaces or tabs, another line break), a
 * form feed or U+2029 PARAGRAPH SEPARATOR. A regular expression because
 * Intl.Segmenter has no paragraph granularity.
 */
const PARAGRAPH_BREAK = /\r?\n(?:[^\S\r\n]*\r?\n)+|[\f\u2029]/g;

const isSpace = (char: string | undefined): boolean => char !== undefined && char.trim() === '';

/** `[start, end)` without its leading and trailing whitespace, or undefined when nothing else is left. */
export function trimSpan(text: string, start: number, end: number): Span | undefined {
  while (start < end && isSpace(text[start])) start++;
  while (end > start && isSpace(text[end - 1])) end--;
  return start < end ? { start, end } : undefined;
}

export function paragraphSpans(text: string): Span[] {
  const spans: Span[] = [];
  let from = 0;
  for (const match of text.matchAll(PARAGRAPH_BREAK)) {
    push(spans, trimSpan(text, from, match.index));
    from = match.index + match[0].length;
  }
  push(spans, trimSpan(text, from, text.length));
  return spans;
}

/** Sentences by UAX #29; a line break also ends a sentence there. */
export function sentenceSpans(text: string, within: Span): Span[] {
  const spans: Span[] = [];
  for (const { index, segment } of sentenceSegmenter.segment(text.slice(within.start, within.end))) {
    push(spans, trimSpan(text, within.start + index, within.start + index + segment.length));
  }
  return spans;
}

/**
 * Words by UAX #29 (dictionary-based for CJK and Thai), each with the
 * punctuation that touches it: "end." and "a-b" stay one word, and so does
 * a URL or a base64 blob. Whitespace separates words; so does the boundary
 * between two adjacent word-like segments (两个词 with no space between).
 */
export function wordSpans(text: string, within: Span): Span[] {
  const spans: Span[] = [];
  let current: Span | undefined;
  let afterSpace = false;
  let afterWord = false;
  for (const { index, segment, isWordLike } of wordSegmenter.segment(text.slice(within.start, within.end))) {
    const start = within.start + index;
    const end = start + segment.length;
    if (segment.trim() === '') {
      afterSpace = true;
      afterWord = false;
      continue;
    }
    if (current && !afterSpace && !(isWordLike && afterWord)) {
      current.end = end;
    } else {
      push(spans, current && trimSpan(text, current.start, current.end));
      current = { start, end };
    }
    afterSpace = false;
    afterWord = isWordLike === true;
  }
  push(spans, current && trimSpan(text, current.start, current.end));
  return spans;
}

/** Offsets of the grapheme-cluster boundaries in `within`, both ends included. */
export function graphemeOffsets(text: string, within: Span): number[] {
  const offsets: number[] = [];
  for (const { index } of graphemeSegmenter.segment(text.slice(within.start, within.end))) offsets.push(within.start + index);
  offsets.push(within.end);
  return offsets;
}

/** Offsets of the code-point boundaries in `within`, both ends included: never inside a surrogate pair. */
export function codePointOffsets(text: string, within: Span): number[] {
  const offsets: number[] = [];
  for (let i = within.start; i < within.end; i += text.codePointAt(i)! > 0xffff ? 2 : 1) offsets.push(i);
  offsets.push(within.end);
  return offsets;
}

function push(spans: Span[], span: Span | undefined): void {
  if (span) spans.push(span);
}
