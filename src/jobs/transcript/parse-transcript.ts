import webvtt, { type WebVttNode } from 'webvtt-parser';
import { HearthError } from '../../errors/index.js';
import { jsonTranscriptSchema, type Segment } from './segments.js';

export type TranscriptFormat = 'json' | 'srt' | 'vtt' | 'text';
export const TRANSCRIPT_FORMATS: readonly TranscriptFormat[] = ['json', 'srt', 'vtt', 'text'];

/**
 * A transcript as segments: JSON segments (`start`, `end`, optional
 * `speaker`, `text`), SubRip, WebVTT (a `<v Name>` voice is the speaker) or
 * plain text (a segment per paragraph, or per line when there is one
 * paragraph). The format is sniffed when not given. A transcript that
 * cannot be read is TRANSCRIPT_INVALID, saying where.
 */
export function parseTranscript(input: string, format: TranscriptFormat = sniffFormat(input)): Segment[] {
  const raw = format === 'json' ? fromJson(input) : format === 'srt' ? fromSrt(input) : format === 'vtt' ? fromVtt(input) : fromText(input);
  const segments = raw.filter((s) => s.text.length > 0).map((s, index) => ({ ...s, index }));
  if (segments.length === 0) throw invalid(`the ${format} transcript has no text`, {});
  return segments;
}

export function sniffFormat(input: string): TranscriptFormat {
  const head = input.replace(/^\uFEFF/, '').trimStart();
  if (head.startsWith('WEBVTT')) return 'vtt';
  if (head.startsWith('{') || head.startsWith('[')) return 'json';
  if (/^\d+[ \t]*\r?\n[ \t]*\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}[ \t]*-->/.test(head)) return 'srt';
  return 'text';
}

type RawSegment = Omit<Segment, 'index'>;

function fromJson(input: string): RawSegment[] {
  let value: unknown;
  try {
    value = JSON.parse(input);
  } catch (error) {
    const at = /position (\d+)/.exec((error as Error).message);
    const where = at ? lineAndColumn(input, Number(at[1])) : undefined;
    throw invalid(`the JSON transcript does not parse${where ? ` at line ${where.line}, column ${where.column}` : ''}: ${(error as Error).message}`, { ...where }, error);
  }
  const parsed = jsonTranscriptSchema(value).safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.join('.');
    throw invalid(`the JSON transcript is not a list of segments: ${path || 'the document'}: ${issue.message}`, { path }, parsed.error);
  }
  return parsed.data.map((s) => ({ start: s.start, end: s.end, speaker: s.speaker, text: s.text.trim() }));
}

/**
 * SubRip, read strictly. Hand-written: the SRT parsers on npm recover from
 * a malformed timing line by folding it into the cue before (the words are
 * kept under the wrong time, and nobody is told), and SubRip is a dozen
 * lines of grammar.
 */
function fromSrt(input: string): RawSegment[] {
  const lines = input.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n').split('\n');
  const segments: RawSegment[] = [];
  let i = 0;
  while (i < lines.length) {
    if (lines[i]!.trim() === '') {
      i++;
      continue;
    }
    if (/^\d+$/.test(lines[i]!.trim())) i++;
    const timing = SRT_TIMING.exec(lines[i] ?? '');
    if (!timing) throw invalid(`the SubRip transcript does not parse at line ${i + 1}: expected a timing line such as 00:00:01,000 --> 00:00:02,500, got "${lines[i] ?? ''}"`, { line: i + 1 });
    const start = srtSeconds(timing[1]!);
    const end = srtSeconds(timing[2]!);
    if (end < start) throw invalid(`the SubRip transcript does not parse at line ${i + 1}: the cue ends before it starts`, { line: i + 1 });
    const text: string[] = [];
    for (i++; i < lines.length && lines[i]!.trim() !== ''; i++) {
      if (SRT_TIMING.test(lines[i]!)) throw invalid(`the SubRip transcript does not parse at line ${i + 1}: a timing line inside a cue (a blank line is missing before it)`, { line: i + 1 });
      text.push(lines[i]!);
    }
    segments.push({ start, end, speaker: undefined, text: stripTags(text.join(' ')) });
  }
  return segments;
}

const SRT_TIMING = /^\s*(\d{1,2}:\d{2}:\d{2}[,.]\d{1,3})\s*-->\s*(\d{1,2}:\d{2}:\d{2}[,.]\d{1,3})(?:\s.*)?$/;

function srtSeconds(stamp: string): number {
  const [h, m, rest] = stamp.split(':') as [string, string, string];
  const [s, ms] = rest.split(/[,.]/) as [string, string];
  return Number(h) * 3600 + Number(m) * 60 + Number(s) + Number(ms.padEnd(3, '0')) / 1000;
}

function fromVtt(input: string): RawSegment[] {
  const { cues, errors } = new webvtt.WebVTTParser().parse(input.replace(/^\uFEFF/, ''), 'metadata');
  // The parser recovers from a bad cue by dropping it; a transcript that loses a cue silently loses words.
  const first = errors[0];
  if (first) throw invalid(`the WebVTT transcript does not parse at line ${first.line}${first.col ? `, column ${first.col}` : ''}: ${first.message}`, { line: first.line, column: first.col });
  return cues.map((cue) => ({ start: cue.startTime, end: cue.endTime, speaker: voiceOf(cue.tree.children), text: textOf(cue.tree.children).replace(/\s+/g, ' ').trim() }));
}

function fromText(input: string): RawSegment[] {
  const text = input.replace(/^\uFEFF/, '').replace(/\r\n/g, '\n').trim();
  const paragraphs = text.split(/\n[ \t]*\n/);
  const pieces = paragraphs.length > 1 ? paragraphs : text.split('\n');
  return pieces.map((p) => ({ start: undefined, end: undefined, speaker: undefined, text: p.replace(/\s+/g, ' ').trim() }));
}

function voiceOf(nodes: readonly WebVttNode[]): string | undefined {
  for (const node of nodes) {
    if (node.type === 'object' && node.name === 'v' && node.value) return node.value.trim();
    const inner = node.children ? voiceOf(node.children) : undefined;
    if (inner) return inner;
  }
  return undefined;
}

function textOf(nodes: readonly WebVttNode[]): string {
  return nodes.map((n) => (n.type === 'text' ? (n.value ?? '') : textOf(n.children ?? []))).join('');
}

function stripTags(text: string): string {
  return text.replace(/<[^>]+>/g, '').replace(/\s+/g, ' ').trim();
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: before.at(-1)!.length + 1 };
}

function invalid(message: string, details: Record<string, unknown>, cause?: unknown): HearthError {
  return new HearthError('TRANSCRIPT_INVALID', message, { details, cause, hint: 'a transcript is JSON segments ({start, end, speaker?, text}), SubRip (.srt), WebVTT (.vtt) or plain text' });
}
