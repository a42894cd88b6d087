import { HearthError } from '../../errors/index.js';
import { grammarSchema, type GrammarSchema } from '../../runtime/json-schema-subset.js';
import type { Chunk, ChunkLine } from '../transcript/chunker.js';

export type BuiltInTask = 'clean' | 'summary' | 'keywords' | 'title' | 'chapters';
export const BUILT_IN_TASKS: readonly BuiltInTask[] = ['clean', 'summary', 'keywords', 'title', 'chapters'];

/** A task of the user's own: a prompt, and the JSON schema each chunk's answer must follow (in the grammar's subset). */
export interface CustomTask {
  prompt: string;
  schema: GrammarSchema;
}

export interface EnrichTasks {
  builtIn: BuiltInTask[];
  custom: CustomTask | undefined;
}

/** Bounds that keep a tiny model's answer finite: a grammar lets a string run until the token limit otherwise. */
const TEXT = { type: 'string', maxLength: 600 };
const SHORT = { type: 'string', minLength: 1, maxLength: 80 };
/** Integer bounds in a grammar are an enum of every value; past this many, the segment is clamped afterwards instead. */
const MAX_BOUNDED_RANGE = 256;

const INSTRUCTIONS: Record<BuiltInTask, string> = {
  clean: '"clean": each numbered line again, in order, with punctuation, casing and obvious speech-recognition errors fixed; nothing added, nothing left out.',
  summary: '"summary": what this part says, in a few sentences.',
  keywords: '"keywords": up to 10 key terms or names from this part.',
  title: '"title": a short title for this part.',
  chapters: '"chapters": where a new topic starts, each with a short title and the number of the line it starts at.',
};

/** Which tasks a request names (`summary,keywords`); an unknown one is a USAGE error naming it. */
export function parseTasks(names: readonly string[], custom?: { prompt: string; schema: unknown } | undefined): EnrichTasks {
  const builtIn: BuiltInTask[] = [];
  for (const name of names.map((n) => n.trim()).filter(Boolean)) {
    if (name === 'custom') continue;
    if (!(BUILT_IN_TASKS as readonly string[]).includes(name)) {
      throw new HearthError('USAGE', `invalid request: tasks: "${name}" is not a task (${[...BUILT_IN_TASKS, 'custom'].join(', ')})`, { details: { field: 'tasks' } });
    }
    if (!builtIn.includes(name as BuiltInTask)) builtIn.push(name as BuiltInTask);
  }
  const tasks = { builtIn, custom: custom ? { prompt: custom.prompt, schema: grammarSchema(custom.schema, 'custom.schema') } : undefined };
  if (tasks.builtIn.length === 0 && !tasks.custom) throw new HearthError('USAGE', 'invalid request: tasks: name at least one task', { details: { field: 'tasks' } });
  return tasks;
}

/** The one JSON schema a chunk's answer follows: one property per task, all required. */
export function chunkSchema(tasks: EnrichTasks, chunk: Chunk): GrammarSchema {
  const properties: Record<string, unknown> = {};
  const lines = chunk.lines.length;
  for (const task of tasks.builtIn) {
    if (task === 'clean') properties.clean = { type: 'array', items: TEXT, minItems: lines, maxItems: lines };
    if (task === 'summary') properties.summary = TEXT;
    if (task === 'keywords') properties.keywords = { type: 'array', items: { type: 'string', minLength: 1, maxLength: 40 }, maxItems: 10 };
    if (task === 'title') properties.title = SHORT;
    if (task === 'chapters') {
      const line = lines <= MAX_BOUNDED_RANGE ? { type: 'integer', minimum: 1, maximum: lines } : { type: 'integer' };
      properties.chapters = { type: 'array', items: { type: 'object', properties: { title: SHORT, line }, required: ['title', 'line'] }, maxItems: 5 };
    }
  }
  if (tasks.custom) properties.custom = tasks.custom.schema;
  return { type: 'object', properties, required: Object.keys(properties), additionalProperties: false };
}

/** The chunk as the model reads it: numbered lines (what `clean` and `chapters` refer to), after the overlap it only sees. */
export function chunkPrompt(tasks: EnrichTasks, chunk: Chunk): string {
  const asked = [...tasks.builtIn.map((t) => INSTRUCTIONS[t]), ...(tasks.custom ? [`"custom": ${tasks.custom.prompt}`] : [])];
  const context = chunk.context.length > 0 ? `Earlier in the transcript (for context only, not to answer about):\n${chunk.context.map((l) => `- ${lineText(l)}`).join('\n')}\n\n` : '';
  return `${context}Transcript part:\n${chunk.lines.map((l, i) => `${i + 1}. ${lineText(l)}`).join('\n')}\n\nAnswer with one JSON object with these fields:\n${asked.map((a) => `- ${a}`).join('\n')}`;
}

export const SYSTEM_PROMPT = 'You enrich transcripts of speech. You answer with JSON only, exactly in the requested shape.';

function lineText(line: ChunkLine): string {
  return line.speaker ? `${line.speaker}: ${line.text}` : line.text;
}
