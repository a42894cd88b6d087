import { HearthError } from '../errors/index.js';
import type { Lease } from '../pool/model-pool.js';
import type { GenerateEvent, GenerateRequest } from '../runtime/types.js';
import type { ServerContext } from './context.js';

export interface GenerationTimings {
  /** ns, Ollama's unit. */
  totalNs: number;
  loadNs: number;
  evalNs: number;
  promptTokens: number;
  completionTokens: number;
  stopReason: 'stop' | 'length' | 'abort';
}

/**
 * Runs one generation on a leased model, yielding text, and returning the
 * timings Ollama and OpenAI report; the lease is released however it ends.
 */
export async function* generate(ctx: ServerContext, lease: Lease, model: string, request: GenerateRequest, startedAt: number, loadedAt: number): AsyncGenerator<string, GenerationTimings> {
  let firstTokenAt: number | undefined;
  let done: Extract<GenerateEvent, { type: 'done' }> | undefined;
  try {
    for await (const event of lease.model.generate(request)) {
      if (event.type === 'text') {
        firstTokenAt ??= performance.now();
        yield event.text;
      } else done = event;
    }
  } finally {
    lease.release();
  }
  const end = performance.now();
  const completionTokens = done?.completionTokens ?? 0;
  const evalSeconds = (end - (firstTokenAt ?? end)) / 1000;
  ctx.metrics.tokens.inc({ model }, completionTokens);
  if (completionTokens > 1 && evalSeconds > 0) ctx.metrics.tokensPerSecond.observe({ model }, completionTokens / evalSeconds);
  return {
    totalNs: Math.round((end - startedAt) * 1e6),
    loadNs: Math.round((loadedAt - startedAt) * 1e6),
    evalNs: Math.round(evalSeconds * 1e9),
    promptTokens: done?.promptTokens ?? 0,
    completionTokens,
    stopReason: done?.stopReason ?? 'abort',
  };
}

/** Drains a generation into its whole text, for non-streaming responses. */
export async function collectText(run: AsyncGenerator<string, GenerationTimings>): Promise<{ text: string; timings: GenerationTimings }> {
  let text = '';
  let step = await run.next();
  while (!step.done) {
    text += step.value;
    step = await run.next();
  }
  return { text, timings: step.value };
}

/** Refuses generation on an embedding model before any stream opens, so the client gets a proper 400. */
export function assertCanGenerate(lease: Lease): void {
  if (lease.model.info.capabilities.includes('generation')) return;
  lease.release();
  throw new HearthError('MODEL_UNSUPPORTED', `${lease.view.name} is an embedding model (${lease.model.info.architecture}); it cannot generate text`);
}

/** OpenAI's finish_reason. */
export function finishReason(stop: GenerationTimings['stopReason']): 'stop' | 'length' {
  return stop === 'length' ? 'length' : 'stop';
}
