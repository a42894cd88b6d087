import { z } from 'zod';
import { tokenBudget } from '../../generation.js';
import { ollamaFormatSchema } from '../../output-format.js';
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
  return {
    // Ollama: -1 means no limit and -2 fill the context; here both mean the server's bound.
    maxTokens: tokenBudget(options?.num_predict !== undefined && options.num_predict > 0 ? options.num_predict : undefined, limit, 'options.num_predict'),
    temperature: options?.temperature,
    topP: options?.top_p,
    topK: options?.top_k,
    minP: options?.min_p,
    repeatPenalty: {
      // Ollama's documented default; node-llama-cpp's own is none.
      penalty: options?.repeat_penalty ?? OLLAMA_REPEAT_PENALTY,
      // Ollama's -1 means the whole context: its window is then the context's size, which llama.cpp takes as -1 too.
      lastTokens: options?.repeat_last_n === -1 ? Number.MAX_SAFE_INTEGER : options?.repeat_last_n,
      presencePenalty: options?.presence_penalty,
      frequencyPenalty: options?.frequency_penalty,
      penalizeNewLine: options?.penalize_newline,
    },
    contextLimit: options?.num_ctx,
    seed: options?.seed,
    stop: options?.stop,
  };
}
