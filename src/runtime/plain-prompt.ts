import type { ChatMessage, GenerateRequest } from './types.js';

/**
 * A model without a chat template (a base model) has no chat format to
 * follow, so a chat is run as a plain completion of its messages' text,
 * joined by blank lines. Inventing a template ("### User:") would feed the
 * model a format it never saw; this is also what Ollama's default
 * `{{ .Prompt }}` template and `hearth run` do.
 */
export function withoutChatTemplate(request: GenerateRequest): GenerateRequest {
  if (request.kind !== 'chat') return request;
  const { messages, ...sampling } = request;
  return { ...sampling, kind: 'completion', prompt: plainPrompt(messages) };
}

export function plainPrompt(messages: readonly ChatMessage[]): string {
  return messages.map((m) => m.content).join('\n\n');
}
