import { randomUUID } from 'node:crypto';
import type { ChatHistoryItem, ChatModelFunctions, ChatModelResponse, GbnfJsonSchema } from 'node-llama-cpp';
import { HearthError } from '../../errors/index.js';
import type { GrammarSchema } from '../json-schema-subset.js';
import type { ChatMessage, ToolCall, ToolSpec } from '../types.js';

/**
 * A chat as node-llama-cpp's history: a tool's answer is the result of the
 * call it answers, inside the assistant turn that made the call, which is
 * how its chat wrappers render calls and results in the template's own
 * format. The turn to generate is an empty model turn at the end.
 */
export function toHistory(messages: readonly ChatMessage[], tools: readonly ToolSpec[] = []): ChatHistoryItem[] {
  if (messages.length === 0) throw new HearthError('USAGE', 'a chat needs at least one message');
  const results = new Map(messages.filter((m) => m.role === 'tool' && m.toolCallId !== undefined).map((m) => [m.toolCallId!, m.content]));
  const history: ChatHistoryItem[] = [];
  for (const m of messages) {
    if (m.role === 'tool') continue;
    if (m.role !== 'assistant') {
      history.push({ type: m.role, text: m.content });
      continue;
    }
    const response: ChatModelResponse['response'] = m.content ? [m.content] : [];
    for (const call of m.toolCalls ?? []) {
      response.push({ type: 'functionCall', name: call.name, description: tools.find((t) => t.name === call.name)?.description, params: call.arguments, result: results.get(call.id) ?? null });
    }
    history.push({ type: 'model', response });
  }
  history.push({ type: 'model', response: [] });
  return history;
}

/** The tools as node-llama-cpp's functions, for the template to describe and the model to call (tool_choice auto). */
export function asFunctions(tools: readonly ToolSpec[]): ChatModelFunctions {
  return Object.fromEntries(tools.map((t) => [t.name, { description: t.description, params: t.parameters as GbnfJsonSchema }]));
}

/**
 * What a forced call (tool_choice required, or one named tool) must be: a
 * JSON object naming one of `tools` and holding arguments valid against its
 * parameters, enforced by a grammar on any model. The alternatives are told
 * apart by the name, a constant, so grammarSchema's oneOf rule holds.
 */
export function forcedCallSchema(tools: readonly ToolSpec[]): GrammarSchema {
  const branches = tools.map((t) => ({ type: 'object', properties: { name: { const: t.name }, arguments: t.parameters } }));
  return branches.length === 1 ? branches[0]! : { oneOf: branches };
}

/** The system note that tells the model which tools it must call, and how, when a grammar forces the call. */
export function forcedCallNote(tools: readonly ToolSpec[]): ChatMessage {
  const described = tools.map((t) => ({ name: t.name, description: t.description, parameters: t.parameters }));
  return { role: 'system', content: `Call one of these tools. Answer with only a JSON object {"name": <tool name>, "arguments": <its arguments>}.\nTools: ${JSON.stringify(described)}` };
}

/** The call a forced answer holds; undefined when it was cut short (the token limit) and does not parse. */
export function parseForcedCall(text: string): ToolCall | undefined {
  try {
    const value = JSON.parse(text) as { name: string; arguments: Record<string, unknown> };
    return { id: newCallId(), name: value.name, arguments: value.arguments };
  } catch {
    return undefined;
  }
}

/** OpenAI's call ids: "call_" and 24 characters. */
export function newCallId(): string {
  return `call_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
}
