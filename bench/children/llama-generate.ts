import { LlamaChat, type ChatHistoryItem } from 'node-llama-cpp';
import { childMain } from './child-io.js';
import { loadDirect } from './llama-common.js';

/**
 * One chat stream at a time with node-llama-cpp used directly (G1's direct
 * baseline): one context with one sequence, `threads` threads, a LlamaChat
 * reused across runs as hearth reuses its engines, greedy sampling. Timed the
 * way the HTTP client times hearth: time to first text chunk, and decode rate
 * from the first to the last chunk.
 */
export interface LlamaGenerateInput {
  model: string;
  threads: number;
  contextSize: number;
  prompt: string;
  maxTokens: number;
  runs: number;
  warmupRuns: number;
}

export interface GenerationTiming {
  ttftMs: number;
  completionTokens: number;
  tokPerSec: number;
}

childMain<LlamaGenerateInput, { threads: number; runs: GenerationTiming[] }>(async (input) => {
  const { model } = await loadDirect(input.model);
  const context = await model.createContext({ contextSize: Math.min(input.contextSize, model.trainContextSize), sequences: 1, threads: input.threads });
  const chat = new LlamaChat({ contextSequence: context.getSequence() });
  const runs: GenerationTiming[] = [];
  for (let r = 0; r < input.warmupRuns + input.runs; r++) {
    const history: ChatHistoryItem[] = [{ type: 'user', text: input.prompt }, { type: 'model', response: [] }];
    let first: number | undefined;
    let last = 0;
    let tokens = 0;
    const start = performance.now();
    await chat.generateResponse(history, {
      maxTokens: input.maxTokens,
      temperature: 0,
      onTextChunk: (text) => {
        if (text.length === 0) return;
        const at = performance.now();
        first ??= at;
        last = at;
      },
      onToken: (t) => {
        tokens += t.length;
      },
    });
    if (r < input.warmupRuns || first === undefined) continue;
    const decodeMs = last - first;
    runs.push({ ttftMs: first - start, completionTokens: tokens, tokPerSec: decodeMs > 0 ? (tokens - 1) / (decodeMs / 1000) : Number.NaN });
  }
  return { threads: input.threads, runs };
});
