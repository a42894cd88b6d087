import type { LlamaEmbeddingContext } from 'node-llama-cpp';
import { childMain } from './child-io.js';
import { loadDirect } from './llama-common.js';

/**
 * Embeddings with node-llama-cpp used directly (baselines (a) and (b)).
 * - `defaults`: one createEmbeddingContext() with the library's defaults, texts one after another.
 * - `configured`: `contexts` contexts of `threads` threads each, batch = context size (as hearth
 *   needs for correct pooling), one worker per context pulling texts from a shared queue.
 * The process's environment (tamed or not) is chosen by the parent.
 */
export interface LlamaEmbedInput {
  model: string;
  mode: 'defaults' | 'configured';
  threads?: number;
  contexts?: number;
  texts: string[];
  maxTexts: number;
  timeLimitMs: number;
}

export interface LlamaEmbedOutput {
  rate: number;
  texts: number;
  elapsedMs: number;
  tokensPerText: number;
  threads: number;
  contexts: number;
}

childMain<LlamaEmbedInput, LlamaEmbedOutput>(async (input) => {
  const { model } = await loadDirect(input.model);
  const contexts: LlamaEmbeddingContext[] = [];
  if (input.mode === 'defaults') contexts.push(await model.createEmbeddingContext());
  else {
    const size = model.trainContextSize;
    for (let i = 0; i < (input.contexts ?? 1); i++) contexts.push(await model.createEmbeddingContext({ contextSize: size, batchSize: size, threads: input.threads ?? 1 }));
  }
  const tokens = input.texts.map((t) => model.tokenize(t).length + 2);
  let next = 0;
  const take = () => input.texts[next++ % input.texts.length]!;
  for (const context of contexts) await context.getEmbeddingFor(take()); // warm-up: first decode allocates
  let done = 0;
  const start = performance.now();
  const deadline = start + input.timeLimitMs;
  await Promise.all(
    contexts.map(async (context) => {
      while (done < input.maxTexts && performance.now() < deadline) {
        await context.getEmbeddingFor(take());
        done++;
      }
    }),
  );
  const elapsedMs = performance.now() - start;
  return {
    rate: done / (elapsedMs / 1000),
    texts: done,
    elapsedMs,
    tokensPerText: tokens.reduce((a, b) => a + b, 0) / tokens.length,
    threads: input.mode === 'defaults' ? -1 : (input.threads ?? 1),
    contexts: contexts.length,
  };
});
