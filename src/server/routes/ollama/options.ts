import { z } from 'zod';
import { tokenBudget } from '../../generation.js';
import { ollamaFormatSchema } from '../../output-format.js';
import { samplingOfParameters } from '../../../pool/with-definition.js';
import { modelParameters, type ModelDefinition } from '../../../store/index.js';
import { ollamaLogprobsFields } from '../../logprobs.js';
import { keepAliveSchema } from '../../request.js';

/**
 * Ollama's `options` block. An option hearth does not implement (mirostat,
 * typical_p, num_gpu…) is a 400 naming it: ignoring it would answer as if it
 * had been applied.
 */
export const ollamaOptions = modelParameters.optional();

/** A request's options over its model definition's parameters (Ollama's Modelfile PARAMETERs), key by key. */
export function optionsUnder(definition: ModelDefinition | undefined, options: z.output<typeof ollamaOptions>): z.output<typeof ollamaOptions> {
  if (!definition) return options;
  return { ...definition.parameters, ...Object.fromEntries(Object.entries(options ?? {}).filter(([, v]) => v !== undefined)) };
}

export const ollamaCommon = {
  model: z.string().min(1),
  ...ollamaLogprobsFields,
  format: ollamaFormatSchema,
  keep_alive: keepAliveSchema,
  options: ollamaOptions,
};

/** Ollama's default repeat_penalty (over its default repeat_last_n, 64, which is node-llama-cpp's too). */
const OLLAMA_REPEAT_PENALTY = 1.1;

export function samplingFromOptions(options: z.output<typeof ollamaOptions>, limit: number) {
  const sampling = samplingOfParameters(options ?? { stop: undefined });
  return {
    ...sampling,
    // Ollama: -1 means no limit and -2 fill the context; here both mean the server's bound.
    maxTokens: tokenBudget(options?.num_predict !== undefined && options.num_predict > 0 ? options.num_predict : undefined, limit, 'options.num_predict'),
    // Ollama's documented default; node-llama-cpp's own is none.
    repeatPenalty: { penalty: OLLAMA_REPEAT_PENALTY, ...sampling.repeatPenalty },
  };
}
