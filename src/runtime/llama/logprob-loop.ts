import { LlamaGrammarEvaluationState, LlamaText, type LlamaContextSequence, type LlamaGrammar, type LlamaModel, type Token, type TokenBias } from 'node-llama-cpp';
import type { RepeatPenalty, TokenLogprob } from '../types.js';

export interface LogprobLoopOptions {
  /** The whole prompt, as tokens: the chat template rendered, or a completion's text with its BOS. */
  prompt: Token[];
  maxTokens: number;
  /** Alternatives reported per token (0: the chosen token's only). */
  top: number;
  /** Token sequences that end the answer without being part of it (the chat template's end-of-turn). */
  stopTriggers: Token[][];
  temperature?: number | undefined;
  topP?: number | undefined;
  topK?: number | undefined;
  minP?: number | undefined;
  seed?: number | undefined;
  repeatPenalty?: RepeatPenalty | false | undefined;
  tokenBias?: TokenBias | undefined;
  grammar?: LlamaGrammar | undefined;
  signal: AbortSignal;
  /** Each token as it comes: the text it completes (held back while its UTF-8 is incomplete) and its log-probability. */
  onToken(text: string, entry: TokenLogprob): void;
}

/**
 * Generation token by token over node-llama-cpp's sequence API, for
 * requests that ask for log-probabilities: LlamaChat and LlamaCompletion do
 * not report them, and `evaluateWithMetadata` does. The probabilities are
 * the ones the sampler drew from, after temperature, top-k/p, min-p, biases
 * and the grammar (llama.cpp's server calls them post-sampling).
 */
export async function runLogprobLoop(sequence: LlamaContextSequence, o: LogprobLoopOptions): Promise<{ stopReason: 'stop' | 'length' | 'abort'; tokens: number }> {
  const model = sequence.model;
  // The sequence holds an earlier request's tokens; the shared prefix is kept, the rest evaluated.
  const kept = commonPrefix(sequence.contextTokens, o.prompt);
  if (kept < sequence.contextTokens.length) await sequence.eraseContextTokenRanges([{ start: kept, end: sequence.contextTokens.length }]);
  const pending = o.prompt.slice(kept);
  const generated: Token[] = [];
  const penalty = o.repeatPenalty;
  const window = penalty ? (penalty.lastTokens ?? 64) : 0;
  const nl = model.tokens.nl;
  const options = {
    temperature: o.temperature,
    topP: o.topP,
    topK: o.topK,
    minP: o.minP,
    seed: o.seed,
    tokenBias: o.tokenBias,
    grammarEvaluationState: o.grammar ? new LlamaGrammarEvaluationState({ model, grammar: o.grammar }) : undefined,
    repeatPenalty:
      penalty && window > 0
        ? {
            // As LlamaCompletion does: the newline is spared unless penalize_newline asks otherwise.
            punishTokens: () => generated.slice(-window).filter((t) => penalty.penalizeNewLine === true || t !== nl),
            maxPunishTokens: window,
            penalty: penalty.penalty,
            presencePenalty: penalty.presencePenalty,
            frequencyPenalty: penalty.frequencyPenalty,
          }
        : undefined,
  };
  // At least one token must be evaluated to sample the next; a prompt already whole in the sequence gives its last again.
  if (pending.length === 0) {
    await sequence.eraseContextTokenRanges([{ start: o.prompt.length - 1, end: o.prompt.length }]);
    pending.push(o.prompt.at(-1)!);
  }
  const steps = sequence.evaluateWithMetadata(pending, { confidence: true, probabilities: o.top > 0 }, options);
  let emitted = '';
  try {
    for (let step = await steps.next(); !step.done; ) {
      if (o.signal.aborted) return { stopReason: 'abort', tokens: generated.length };
      const { token, confidence } = step.value;
      const probabilities = (step.value as { probabilities?: Map<Token, number> }).probabilities;
      if (model.isEogToken(token)) return { stopReason: 'stop', tokens: generated.length };
      generated.push(token);
      if (o.stopTriggers.some((trigger) => endsWith(generated, trigger))) return { stopReason: 'stop', tokens: generated.length };
      const text = model.detokenize(generated);
      // A token that ends inside a UTF-8 sequence shows as U+FFFD until the rest of it comes.
      const piece = text.endsWith('\uFFFD') ? '' : text.slice(emitted.length);
      emitted += piece;
      o.onToken(piece, entryOf(model, generated.at(-2) ?? o.prompt.at(-1), piece, confidence, probabilities, o.top));
      if (generated.length >= o.maxTokens) return { stopReason: 'length', tokens: generated.length };
      step = await steps.next(token);
    }
    return { stopReason: 'stop', tokens: generated.length };
  } finally {
    await steps.return();
  }
}

/** The chat template's end-of-turn triggers as token sequences. */
export function triggerTokens(model: LlamaModel, triggers: readonly unknown[]): Token[][] {
  return triggers.map((t) => LlamaText(t as LlamaText).tokenize(model.tokenizer, 'trimLeadingSpace')).filter((tokens) => tokens.length > 0);
}

/** The chosen token is shown as the text it added to the answer, so the tokens always join into the answer's text. */
function entryOf(model: LlamaModel, previous: Token | undefined, chosen: string, confidence: number, probabilities: Map<Token, number> | undefined, top: number): TokenLogprob {
  const alternatives: TokenLogprob['top'] = [];
  if (probabilities) {
    for (const [candidate, p] of probabilities) {
      if (alternatives.length >= top) break;
      alternatives.push(logprobOf(tokenText(model, previous, candidate), p));
    }
  }
  return { ...logprobOf(chosen, confidence), top: alternatives };
}

function logprobOf(text: string, probability: number): { token: string; logprob: number; bytes: number[] } {
  // log(0) is -Infinity, which JSON cannot carry; OpenAI reports -9999 for "never".
  return { token: text, logprob: probability > 0 ? Math.log(probability) : -9999, bytes: [...Buffer.from(text, 'utf8')] };
}

/**
 * A token's text where it stands, after `previous`: detokenized alone, a
 * SentencePiece token loses its leading space (llama.cpp drops it at the
 * start of a text), so it is read as what it adds to the token before it.
 */
function tokenText(model: LlamaModel, previous: Token | undefined, token: Token): string {
  if (previous === undefined) return model.detokenize([token], true);
  const before = model.detokenize([previous], true);
  const both = model.detokenize([previous, token], true);
  return both.startsWith(before) ? both.slice(before.length) : model.detokenize([token], true);
}

function commonPrefix(a: readonly Token[], b: readonly Token[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

function endsWith(tokens: readonly Token[], tail: readonly Token[]): boolean {
  if (tail.length > tokens.length) return false;
  for (let i = 1; i <= tail.length; i++) if (tokens[tokens.length - i] !== tail[tail.length - i]) return false;
  return true;
}
