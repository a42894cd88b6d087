import type { FastifyReply, FastifyRequest } from 'fastify';
import { HearthError, toHearthError } from '../errors/index.js';
import type { Lease } from '../pool/model-pool.js';
import type { GenerateEvent, GenerateRequest, StopReason, TokenLogprob, ToolCall } from '../runtime/types.js';
import type { ServerContext } from './context.js';

export interface GenerationTimings {
  /** ns, Ollama's unit. */
  totalNs: number;
  loadNs: number;
  evalNs: number;
  promptTokens: number;
  completionTokens: number;
  stopReason: StopReason;
  /** The tools the model called, in order (they come at the end of its answer). */
  toolCalls: ToolCall[];
  /** Each generated token's log-probability, when the request asked for them. */
  logprobs: TokenLogprob[];
}

/** A leased model ready to generate, with the request's own abort signal. */
export interface GenerationStart {
  lease: Lease;
  signal: AbortSignal;
  startedAt: number;
  loadedAt: number;
}

/**
 * Leases a model for a generation request. The signal is the request's own,
 * made when it arrived, so a client that leaves while the model loads
 * aborts its wait (and frees nothing it never got).
 */
export async function startGeneration(
  ctx: ServerContext,
  request: FastifyRequest,
  reply: FastifyReply,
  model: string,
  keepAlive?: string | number | null,
  /** What else the model must be able to do (tools), checked before any stream opens. */
  check?: (lease: Lease) => void,
): Promise<GenerationStart> {
  const startedAt = performance.now();
  const signal = ctx.inflight.signal(request, reply);
  const lease = await ctx.access.lease(model, { keepAlive, signal });
  try {
    assertCanGenerate(lease);
    check?.(lease);
    if (signal.aborted) throw toHearthError(signal.reason);
  } catch (error) {
    lease.release();
    throw error;
  }
  return { lease, signal, startedAt, loadedAt: performance.now() };
}

/**
 * The tokens a request may generate: what it asked for, up to the server's
 * bound; "unlimited" (no value, Ollama's -1 or -2) means the bound. The
 * context bounds it further (see the runtime).
 */
export function tokenBudget(requested: number | null | undefined, limit: number, field: string): number {
  if (requested === undefined || requested === null || requested < 0) return limit;
  if (requested > limit) {
    throw new HearthError('USAGE', `invalid request: ${field}: ${requested} is more than this server generates for one request (${limit})`, {
      details: { field, limit },
      hint: 'ask for fewer tokens, or raise HEARTH_MAX_TOKENS on the server',
    });
  }
  return requested;
}

/**
 * Runs one generation on a leased model, yielding text, and returning the
 * timings Ollama and OpenAI report; the lease is released however it ends.
 * An abort (client gone, server shutting down) ends it with that reason.
 */
export async function* generate(ctx: ServerContext, lease: Lease, request: GenerateRequest, startedAt: number, loadedAt: number): AsyncGenerator<string, GenerationTimings> {
  let firstTokenAt: number | undefined;
  let done: Extract<GenerateEvent, { type: 'done' }> | undefined;
  const toolCalls: ToolCall[] = [];
  const logprobs: TokenLogprob[] = [];
  try {
    for await (const event of lease.model.generate(request)) {
      if (event.type === 'text') {
        firstTokenAt ??= performance.now();
        yield event.text;
      } else if (event.type === 'tool_call') toolCalls.push(event.call);
      else if (event.type === 'logprob') logprobs.push(event.entry);
      else done = event;
    }
  } finally {
    lease.release();
  }
  if (request.signal?.aborted) throw toHearthError(request.signal.reason);
  const end = performance.now();
  const completionTokens = done?.completionTokens ?? 0;
  const evalSeconds = (end - (firstTokenAt ?? end)) / 1000;
  // Labelled by the model's name, not the request's spelling of it (case, a missing :latest): one series per model.
  const label = ctx.access.names.display(lease.view.ref);
  ctx.metrics.tokens.inc({ model: label }, completionTokens);
  if (completionTokens > 1 && evalSeconds > 0) ctx.metrics.tokensPerSecond.observe({ model: label }, completionTokens / evalSeconds);
  return {
    totalNs: Math.round((end - startedAt) * 1e6),
    loadNs: Math.round((loadedAt - startedAt) * 1e6),
    evalNs: Math.round(evalSeconds * 1e9),
    promptTokens: done?.promptTokens ?? 0,
    completionTokens,
    stopReason: done?.stopReason ?? 'abort',
    toolCalls,
    logprobs,
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
function assertCanGenerate(lease: Lease): void {
  if (lease.model.info.capabilities.includes('generation')) return;
  throw new HearthError('MODEL_UNSUPPORTED', `${lease.view.name} is an embedding model (${lease.model.info.architecture}); it cannot generate text`);
}

/** A suffix (fill-in-the-middle) needs a model with the tokens for it; refused before any stream opens. */
export function assertCanInsert(lease: Lease, suffix: string | undefined, field = 'suffix'): void {
  if (suffix === undefined || lease.model.info.capabilities.includes('insert')) return;
  throw new HearthError('MODEL_UNSUPPORTED', `${lease.view.name} has no fill-in-the-middle tokens, so it cannot complete before a suffix`, {
    details: { field },
    hint: 'use a code model whose vocabulary has FIM tokens (its /api/show capabilities list "insert")',
  });
}

/** OpenAI's finish_reason. */
export function finishReason(stop: GenerationTimings['stopReason']): 'stop' | 'length' | 'tool_calls' {
  return stop === 'length' || stop === 'tool_calls' ? stop : 'stop';
}
