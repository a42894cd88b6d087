import type { GenerateRequest, RepeatPenalty } from '../runtime/types.js';
import type { ModelDefinition, ModelParameters } from '../store/index.js';

/**
 * A request with its model definition's settings under it, as Ollama
 * applies a Modelfile: what the request leaves unset comes from the
 * definition's parameters; its system prompt leads a chat that has none;
 * its template replaces the model's own.
 */
export function withDefinition(body: GenerateRequest, definition: ModelDefinition | undefined): GenerateRequest {
  if (!definition) return body;
  const defaults = samplingOfParameters(definition.parameters);
  const repeatPenalty = defaults.repeatPenalty ? { ...defaults.repeatPenalty, ...definedOnly(body.repeatPenalty ?? {}) } : body.repeatPenalty;
  const merged = { ...defaults, ...definedOnly(body), repeatPenalty } as GenerateRequest;
  if (merged.kind !== 'chat') return merged;
  if (definition.system && !merged.messages.some((m) => m.role === 'system')) merged.messages = [{ role: 'system', content: definition.system }, ...merged.messages];
  merged.template ??= definition.template;
  return merged;
}

/**
 * Ollama's parameters (a definition's, or a request's `options`) in the
 * runtime's terms, only those set; num_predict is the caller's to bound
 * (see the server's tokenBudget).
 */
export function samplingOfParameters(p: ModelParameters): Partial<Omit<GenerateRequest, 'kind'>> {
  const penalty: RepeatPenalty = definedOnly({
    penalty: p.repeat_penalty,
    lastTokens: p.repeat_last_n === -1 ? Number.MAX_SAFE_INTEGER : p.repeat_last_n,
    presencePenalty: p.presence_penalty,
    frequencyPenalty: p.frequency_penalty,
    penalizeNewLine: p.penalize_newline,
  });
  return definedOnly({
    temperature: p.temperature,
    topP: p.top_p,
    topK: p.top_k,
    minP: p.min_p,
    repeatPenalty: Object.keys(penalty).length > 0 ? penalty : undefined,
    contextLimit: p.num_ctx,
    seed: p.seed,
    stop: p.stop,
  });
}

function definedOnly<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
