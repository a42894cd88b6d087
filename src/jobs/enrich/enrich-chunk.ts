import { HearthError } from '../../errors/index.js';
import type { ModelPool } from '../../pool/model-pool.js';
import { grammarSchema, type GrammarSchema } from '../../runtime/json-schema-subset.js';
import type { GenerateRequest } from '../../runtime/types.js';
import type { Chunk } from '../transcript/chunker.js';
import { chunkPrompt, chunkSchema, SYSTEM_PROMPT, type EnrichTasks } from './tasks.js';

export interface GenerationSettings {
  model: string;
  /** 0 (the default) answers the same way every time, on either executor. */
  temperature: number;
  seed: number | undefined;
}

/** A chunk's answer, with the chunk it answers for (every item is traced back to its lines' segments). */
export interface ChunkOutput {
  chunk: Chunk;
  output: {
    clean?: string[];
    summary?: string;
    keywords?: string[];
    title?: string;
    chapters?: Array<{ title: string; line: number }>;
    custom?: unknown;
  };
}

/** One chunk through the model: every task in one constrained answer, so the chunk's tokens are read once. */
export async function enrichChunk(pool: ModelPool, settings: GenerationSettings, tasks: EnrichTasks, chunk: Chunk, signal: AbortSignal): Promise<ChunkOutput> {
  const schema = grammarSchema(chunkSchema(tasks, chunk), 'tasks');
  const output = await generateJson(pool, settings, chunkPrompt(tasks, chunk), schema, signal);
  return { chunk, output: output as ChunkOutput['output'] };
}

/**
 * A chat answer constrained to `schema`, parsed. Its length is the
 * schema's to bound (every string has a maxLength), so the answer may use
 * the whole context; one that still runs out of context is INFERENCE_FAILED,
 * never half a result.
 */
export async function generateJson(pool: ModelPool, settings: GenerationSettings, prompt: string, schema: GrammarSchema, signal: AbortSignal): Promise<unknown> {
  const lease = await pool.acquire(settings.model, { signal });
  try {
    const request: GenerateRequest = {
      kind: 'chat',
      messages: [
        { role: 'system', content: SYSTEM_PROMPT },
        { role: 'user', content: prompt },
      ],
      format: { type: 'json_schema', schema },
      temperature: settings.temperature,
      seed: settings.seed,
      signal,
    };
    let text = '';
    let stop = 'stop';
    for await (const event of lease.model.generate(request)) {
      if (event.type === 'text') text += event.text;
      else if (event.type === 'done') stop = event.stopReason;
    }
    if (stop === 'length') {
      throw new HearthError('INFERENCE_FAILED', "the model's answer ran out of context before its JSON ended", { hint: 'use smaller chunks (--chunk-tokens), or fewer tasks at once' });
    }
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new HearthError('INFERENCE_FAILED', `the model's answer is not JSON: ${(error as Error).message}`, { cause: error });
    }
  } finally {
    lease.release();
  }
}
