import type { ModelPool } from '../../pool/model-pool.js';
import { grammarSchema } from '../../runtime/json-schema-subset.js';
import type { Segment } from '../transcript/segments.js';
import { generateJson, type ChunkOutput, type GenerationSettings } from './enrich-chunk.js';
import type { EnrichTasks } from './tasks.js';

/** Where an item came from: the segments it is about, and their times when the transcript has them. */
export interface Trace {
  segments: { from: number; to: number };
  start: number | undefined;
  end: number | undefined;
}

export interface EnrichmentResult {
  segments: number;
  chunks: number;
  clean?: Array<{ index: number; start: number | undefined; end: number | undefined; speaker: string | undefined; text: string }>;
  summary?: { text: string; parts: Array<Trace & { text: string }> };
  title?: { text: string; parts: Array<Trace & { text: string }> };
  keywords?: Array<{ keyword: string; count: number; at: Trace[] }>;
  chapters?: Array<{ title: string; segment: number; start: number | undefined }>;
  custom?: Array<Trace & { output: unknown }>;
}

/** Summaries combined per reduce step: enough to stay well inside a small model's context. */
const REDUCE_GROUP = 8;

/**
 * The chunks' answers merged, in chunk order, into one result for the whole
 * transcript. Summaries (and titles) of several chunks are reduced by the
 * model, a group at a time, until one is left.
 */
export async function aggregate(pool: ModelPool, settings: GenerationSettings, tasks: EnrichTasks, segments: readonly Segment[], outputs: readonly ChunkOutput[], signal: AbortSignal): Promise<EnrichmentResult> {
  const result: EnrichmentResult = { segments: segments.length, chunks: outputs.length };
  const traceOf = (o: ChunkOutput): Trace => ({ segments: o.chunk.segments, start: o.chunk.start, end: o.chunk.end });
  if (tasks.builtIn.includes('clean')) {
    // A segment cut into sentences comes back in pieces, maybe from two chunks: joined in order.
    const texts = new Map<number, string[]>();
    for (const o of outputs) o.chunk.lines.forEach((line, i) => texts.set(line.segment, [...(texts.get(line.segment) ?? []), (o.output.clean?.[i] ?? line.text).trim()]));
    result.clean = segments.map((s) => ({ index: s.index, start: s.start, end: s.end, speaker: s.speaker, text: (texts.get(s.index) ?? [s.text]).join(' ') }));
  }
  if (tasks.builtIn.includes('summary')) {
    const parts = outputs.map((o) => ({ ...traceOf(o), text: o.output.summary ?? '' }));
    result.summary = { text: await reduce(pool, settings, 'summary', parts.map((p) => p.text), signal), parts };
  }
  if (tasks.builtIn.includes('title')) {
    const parts = outputs.map((o) => ({ ...traceOf(o), text: o.output.title ?? '' }));
    const basis = result.summary ? [result.summary.text] : parts.map((p) => p.text);
    result.title = { text: outputs.length === 1 ? parts[0]!.text : await reduce(pool, settings, 'title', basis, signal, true), parts };
  }
  if (tasks.builtIn.includes('keywords')) result.keywords = mergeKeywords(outputs, traceOf);
  if (tasks.builtIn.includes('chapters')) {
    result.chapters = [];
    for (const o of outputs) {
      for (const chapter of o.output.chapters ?? []) {
        const line = o.chunk.lines[Math.min(Math.max(1, chapter.line), o.chunk.lines.length) - 1]!;
        if (result.chapters.at(-1)?.segment === line.segment) continue;
        result.chapters.push({ title: chapter.title, segment: line.segment, start: segments[line.segment]?.start });
      }
    }
  }
  if (tasks.custom) result.custom = outputs.map((o) => ({ ...traceOf(o), output: o.output.custom }));
  return result;
}

/** Several texts into one, a group at a time (one text is itself). `always` reduces even one text (a title from a summary). */
async function reduce(pool: ModelPool, settings: GenerationSettings, what: 'summary' | 'title', texts: readonly string[], signal: AbortSignal, always = false): Promise<string> {
  let level = [...texts];
  if (level.length === 1 && !always) return level[0]!;
  const field = what === 'summary' ? { type: 'string', maxLength: 600 } : { type: 'string', minLength: 1, maxLength: 80 };
  const schema = grammarSchema({ type: 'object', properties: { [what]: field }, required: [what], additionalProperties: false }, 'tasks');
  do {
    const next: string[] = [];
    for (let i = 0; i < level.length; i += REDUCE_GROUP) {
      const group = level.slice(i, i + REDUCE_GROUP);
      const ask =
        what === 'summary'
          ? `These are summaries of consecutive parts of one transcript, in order:\n${group.map((t, k) => `${k + 1}. ${t}`).join('\n')}\n\nAnswer with one JSON object: "summary": one summary of all of them, in a few sentences.`
          : `This is about one transcript:\n${group.join('\n')}\n\nAnswer with one JSON object: "title": a short title for the whole transcript.`;
      const answer = (await generateJson(pool, settings, ask, schema, signal)) as Record<string, string>;
      next.push(answer[what] ?? '');
    }
    level = next;
  } while (level.length > 1);
  return level[0]!;
}

function mergeKeywords(outputs: readonly ChunkOutput[], traceOf: (o: ChunkOutput) => Trace): EnrichmentResult['keywords'] {
  const byKey = new Map<string, { keyword: string; count: number; at: Trace[]; first: number }>();
  outputs.forEach((o, chunk) => {
    for (const raw of new Set((o.output.keywords ?? []).map((k) => k.trim()).filter(Boolean))) {
      const key = raw.toLowerCase();
      const entry = byKey.get(key) ?? { keyword: raw, count: 0, at: [], first: chunk };
      entry.count++;
      entry.at.push(traceOf(o));
      byKey.set(key, entry);
    }
  });
  return [...byKey.values()].sort((a, b) => b.count - a.count || a.first - b.first).map(({ first: _, ...k }) => k);
}
