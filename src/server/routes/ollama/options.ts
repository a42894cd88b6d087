import { z } from 'zod';
import { tokenBudget } from '../../generation.js';
import { ollamaFormatSchema } from '../../output-format.js';
import { keepAliveSchema, stopSchema } from '../../request.js';

/** Ollama's `options` block; unknown keys (num_ctx, mirostat…) are accepted and ignored. */
export const ollamaOptions = z
  .object({
    num_predict: z.number().int().optional(),
    temperature: z.number().min(0).optional(),
    top_p: z.number().min(0).max(1).optional(),
    seed: z.number().int().optional(),
    stop: stopSchema,
  })
  .loose()
  .optional();

export const ollamaCommon = {
  model: z.string().min(1),
  format: ollamaFormatSchema,
  keep_alive: keepAliveSchema,
  options: ollamaOptions,
};

export function samplingFromOptions(options: z.output<typeof ollamaOptions>, limit: number) {
  return {
    // Ollama: -1 means no limit and -2 fill the context; here both mean the server's bound.
    maxTokens: tokenBudget(options?.num_predict !== undefined && options.num_predict > 0 ? options.num_predict : undefined, limit, 'options.num_predict'),
    temperature: options?.temperature,
    topP: options?.top_p,
    seed: options?.seed,
    stop: options?.stop,
  };
}
