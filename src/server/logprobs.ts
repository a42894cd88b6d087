import { z } from 'zod';
import { HearthError } from '../errors/index.js';
import type { TokenLogprob } from '../runtime/types.js';

/** OpenAI's bounds: 20 alternatives per token on chat, 5 on the legacy completions. */
export const chatLogprobsFields = {
  logprobs: z.boolean().nullable().optional(),
  top_logprobs: z.number().int().min(0).max(20).nullable().optional(),
};
export const completionLogprobsField = { logprobs: z.number().int().min(0).max(5).nullable().optional() };

/** Ollama's fields (generate and chat), with OpenAI's bound on alternatives. */
export const ollamaLogprobsFields = chatLogprobsFields;

/** The runtime's `logprobs` (alternatives per token) for a chat request; top_logprobs without logprobs is OpenAI's 400 too. */
export function chatLogprobs(req: { logprobs?: boolean | null | undefined; top_logprobs?: number | null | undefined }): number | undefined {
  if (req.top_logprobs != null && req.logprobs !== true) {
    throw new HearthError('USAGE', 'invalid request: top_logprobs: needs logprobs: true', { details: { field: 'top_logprobs' } });
  }
  return req.logprobs === true ? (req.top_logprobs ?? 0) : undefined;
}

/** The runtime's `logprobs` for a legacy completion; the prompt's own log-probabilities (echo with logprobs) are not computed. */
export function completionLogprobs(req: { logprobs?: number | null | undefined; echo?: boolean | null | undefined }): number | undefined {
  if (req.logprobs == null) return undefined;
  if (req.echo === true) {
    throw new HearthError('USAGE', "invalid request: echo: with logprobs it asks for the prompt's log-probabilities, which hearth does not compute", { details: { field: 'echo' } });
  }
  return req.logprobs;
}

/** Chat's `choices[].logprobs`. */
export function chatLogprobsBody(entries: readonly TokenLogprob[]) {
  return { content: ollamaLogprobsBody(entries), refusal: null };
}

/** The legacy completions' `choices[].logprobs`: parallel arrays, with each token's offset in the choice's text. */
export function completionLogprobsBody(entries: readonly TokenLogprob[], offset: number) {
  const textOffset: number[] = [];
  let at = offset;
  for (const e of entries) {
    textOffset.push(at);
    at += e.token.length;
  }
  return {
    tokens: entries.map((e) => e.token),
    token_logprobs: entries.map((e) => e.logprob),
    top_logprobs: entries.map((e) => Object.fromEntries(e.top.map((t) => [t.token, t.logprob]))),
    text_offset: textOffset,
  };
}

/** Ollama's `logprobs`, and OpenAI chat's `content`: one entry per token, in the same shape. */
export function ollamaLogprobsBody(entries: readonly TokenLogprob[]) {
  return entries.map((e) => ({ token: e.token, logprob: e.logprob, bytes: e.bytes, top_logprobs: e.top }));
}
