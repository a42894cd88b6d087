import { z } from 'zod';
import { grammarSchema, type OutputFormat } from '../runtime/json-schema-subset.js';

/** Ollama's `format`: "" (none), "json" (any JSON object) or a JSON schema. */
export const ollamaFormatSchema = z.union([z.literal(''), z.literal('json'), z.record(z.string(), z.unknown())]).nullable().optional();

export function ollamaFormat(format: z.output<typeof ollamaFormatSchema>): OutputFormat | undefined {
  if (format === undefined || format === null || format === '') return undefined;
  if (format === 'json') return { type: 'json' };
  return { type: 'json_schema', schema: grammarSchema(format, 'format') };
}

/** OpenAI's `response_format`. */
export const responseFormatSchema = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('text') }),
    z.object({ type: z.literal('json_object') }),
    z.object({
      type: z.literal('json_schema'),
      json_schema: z.object({
        name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a name of 1 to 64 letters, digits, underscores and dashes'),
        description: z.string().optional(),
        schema: z.record(z.string(), z.unknown()).optional(),
        strict: z.boolean().nullable().optional(),
      }),
    }),
  ])
  .nullable()
  .optional();

export function openAiFormat(format: z.output<typeof responseFormatSchema>): OutputFormat | undefined {
  if (format === undefined || format === null || format.type === 'text') return undefined;
  if (format.type === 'json_object' || format.json_schema.schema === undefined) return { type: 'json' };
  return { type: 'json_schema', schema: grammarSchema(format.json_schema.schema, 'response_format.json_schema.schema') };
}
