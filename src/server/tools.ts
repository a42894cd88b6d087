import { z } from 'zod';
import { HearthError } from '../errors/index.js';
import type { Lease } from '../pool/model-pool.js';
import { grammarSchema } from '../runtime/json-schema-subset.js';
import type { ChatMessage, ToolCall, ToolChoice, ToolSpec } from '../runtime/types.js';
import { hasToolFormat } from '../runtime/template-facts.js';

/** A function tool, as both APIs describe one. */
export const toolsSchema = z
  .array(
    z.object({
      type: z.literal('function'),
      function: z.object({
        name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a name of 1 to 64 letters, digits, underscores and dashes'),
        description: z.string().optional(),
        parameters: z.record(z.string(), z.unknown()).optional(),
        strict: z.boolean().nullable().optional(),
      }),
    }),
  )
  .max(128)
  .nullable()
  .optional();

/** OpenAI's tool_choice. */
export const toolChoiceSchema = z
  .union([z.enum(['none', 'auto', 'required']), z.object({ type: z.literal('function'), function: z.object({ name: z.string() }) })])
  .nullable()
  .optional();

/** No parameters means a call without arguments. */
const NO_PARAMETERS = { type: 'object', properties: {} };

/**
 * The request's tools for the runtime: each one's parameters in the subset a
 * grammar enforces (a 400 naming the keyword otherwise), and the choice
 * checked against them. Without tools, or with tool_choice none, the model
 * gets no tools (a history of earlier calls is still shown to it).
 */
export function toolsOf(tools: z.output<typeof toolsSchema>, choice: z.output<typeof toolChoiceSchema>): { tools?: ToolSpec[]; toolChoice?: ToolChoice } {
  if (!tools || tools.length === 0) {
    if (choice && choice !== 'none' && choice !== 'auto') throw new HearthError('USAGE', 'invalid request: tool_choice: it asks for a tool call, and the request has no tools', { details: { field: 'tool_choice' } });
    return {};
  }
  const names = new Set<string>();
  const specs = tools.map((t, i): ToolSpec => {
    if (names.has(t.function.name)) throw new HearthError('USAGE', `invalid request: tools.${i}.function.name: "${t.function.name}" is given twice`, { details: { field: `tools.${i}.function.name` } });
    names.add(t.function.name);
    return { name: t.function.name, description: t.function.description, parameters: grammarSchema(t.function.parameters ?? NO_PARAMETERS, `tools.${i}.function.parameters`) };
  });
  if (choice === 'none') return {};
  if (choice && typeof choice === 'object' && !names.has(choice.function.name)) {
    throw new HearthError('USAGE', `invalid request: tool_choice.function.name: no tool is named "${choice.function.name}"`, { details: { field: 'tool_choice.function.name' } });
  }
  return { tools: specs, toolChoice: choice === undefined || choice === null ? 'auto' : typeof choice === 'object' ? { name: choice.function.name } : choice };
}

/**
 * Tool messages answer calls: each must name a call made by an assistant
 * message before it (a 400 naming the message otherwise), so that no result
 * is shown to the model against a call it never made.
 */
export function checkToolResults(messages: readonly ChatMessage[], field: (index: number) => string): void {
  const calls = new Set<string>();
  messages.forEach((m, i) => {
    for (const call of m.toolCalls ?? []) calls.add(call.id);
    if (m.role !== 'tool') return;
    if (m.toolCallId === undefined || !calls.has(m.toolCallId)) {
      throw new HearthError('USAGE', `invalid request: ${field(i)}: ${m.toolCallId === undefined ? 'a tool message must say which call it answers' : `no earlier assistant message made the call "${m.toolCallId}"`}`, {
        details: { field: field(i) },
      });
    }
  });
}

/** Refuses tools for a model whose chat template has no tool format, before anything is generated. */
export function assertCanCallTools(lease: Lease, toolChoice: ToolChoice | undefined, template?: string): void {
  if (toolChoice === undefined || (template === undefined ? lease.model.info.capabilities.includes('tools') : hasToolFormat(template))) return;
  throw new HearthError('MODEL_UNSUPPORTED', `${lease.view.name} has no tool format in its chat template, so it cannot be given tools`, {
    details: { field: 'tools' },
    hint: 'use a model whose template supports tools (its /api/show capabilities list "tools")',
  });
}

/** OpenAI's arguments are a JSON string; a string that is not a JSON object is a 400 naming it. */
export function parseArguments(text: string, field: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new HearthError('USAGE', `invalid request: ${field}: the arguments are not JSON: ${(error as Error).message}`, { details: { field }, cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HearthError('USAGE', `invalid request: ${field}: the arguments must be a JSON object`, { details: { field } });
  return value as Record<string, unknown>;
}

export type { ToolCall };
