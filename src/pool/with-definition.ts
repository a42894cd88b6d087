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
  const merged = { ...body } as GenerateRequest;
  const defaults = samplingOfParameters(definition.parameters);
  for (const [key, value] of Object.entries(defaults)) {
    if (key === 'repeatPenalty') continue;
    if ((merged as unknown as Record<string, unknown>)[key] === undefined) (merged as unknown as Record<string, unknown>)[key] = value;
  }
  if (defaults.repeatPenalty) merged.repeatPenalty = { ...defaults.repeatPenalty, ...definedOnly(body.repeatPenalty ?? {}) };
  if (merged.kind !== 'chat') return merged;
  if (definition.system && !merged.messages.some((m) => m.role === 'system')) merged.messages = [{ role: 'system', content: definition.system }, ...merged.messages];
  if (definition.template && merged.template === undefined) merged.template = definition.template;
  return merged;
}

/** A definition's parameters in the runtime's terms, only those it sets (its num_predict is the caller's: see tokenBudget). */
function samplingOfParameters(p: ModelParameters): Partial<Omit<GenerateRequest, 'kind'>> {
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
