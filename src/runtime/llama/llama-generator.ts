import { LlamaChat, LlamaCompletion, TokenBias, type LlamaContext, type LlamaContextSequence, type LlamaModel, type Token } from 'node-llama-cpp';
import { abortError, HearthError, throwIfAborted } from '../../errors/index.js';
import { AsyncQueue } from '../../lifecycle/async-queue.js';
import { Semaphore } from '../../lifecycle/semaphore.js';
import { StopMatcher } from '../stop-matcher.js';
import { asFunctions, forcedCallNote, forcedCallSchema, newCallId, parseForcedCall, toHistory } from './chat-tools.js';
import { assertChatTemplate } from './chat-template.js';
import { GrammarCache } from './grammar-cache.js';
import { runLogprobLoop, triggerTokens } from './logprob-loop.js';

/** Chat engines kept per sequence for templates other than the model's own (each holds a parsed template). */
const TEMPLATES_PER_SEQUENCE = 4;
import type { GenerateEvent, GenerateRequest, StopReason, ToolCall } from '../types.js';

/**
 * Completion and chat over one llama context with `parallel` sequences;
 * node-llama-cpp batches the active sequences into shared decodes. Chat uses
 * the template embedded in the GGUF (node-llama-cpp resolves it).
 */
export class LlamaGenerator {
  readonly #slots: Semaphore;
  readonly #idle: LlamaContextSequence[] = [];
  /**
   * Chat engines per sequence and template (the model's own is the key ''),
   * reused: building a LlamaChat resolves the template (~1 s). A model
   * definition's template gets engines of its own, a few per sequence.
   */
  readonly #chats = new Map<LlamaContextSequence, Map<string, LlamaChat>>();
  readonly #completions = new Map<LlamaContextSequence, LlamaCompletion>();
  readonly #grammars: GrammarCache;

  constructor(private readonly context: LlamaContext) {
    this.#grammars = new GrammarCache(context.model.llama);
    for (let i = 0; i < context.totalSequences; i++) this.#idle.push(context.getSequence());
    this.#slots = new Semaphore(context.totalSequences);
  }

  get contextSize(): number {
    return this.context.contextSize;
  }

  /** In-flight sequences; a client disconnect must bring this back down. */
  get busy(): number {
    return this.#slots.capacity - this.#slots.free;
  }

  generate(request: GenerateRequest): AsyncIterable<GenerateEvent> {
    const queue = new AsyncQueue<GenerateEvent>();
    void this.#run(request, queue).then(
      () => queue.close(),
      (error: unknown) => queue.close(error),
    );
    return queue;
  }

  async #run(request: GenerateRequest, queue: AsyncQueue<GenerateEvent>): Promise<void> {
    const release = await this.#slots.acquire(1, request.signal);
    const sequence = this.#idle.pop()!;
    // Stops are matched here on the joined text; node-llama-cpp's triggers miss stops that span tokens.
    const stops = new StopMatcher(request.stop?.filter((s) => s.length > 0) ?? []);
    const stopper = new AbortController();
    const emit = (text: string) => {
      if (text.length > 0) queue.push({ type: 'text', text });
    };
    try {
      throwIfAborted(request.signal);
      let completionTokens = 0;
      const tools = request.kind === 'chat' && request.toolChoice !== undefined ? (request.tools ?? []) : [];
      const choice = request.kind === 'chat' ? request.toolChoice : undefined;
      // A forced call (required, or one named tool) is a grammar over the tools' calls, on any model; auto is the template's tool format.
      const forced = tools.length > 0 && choice !== undefined && choice !== 'auto' ? (choice === 'required' ? tools : tools.filter((t) => t.name === choice.name)) : undefined;
      const functions = tools.length > 0 && !forced ? asFunctions(tools) : undefined;
      if (functions && request.format) throw new HearthError('USAGE', 'invalid request: response_format: a response format cannot be combined with tools the model may call', { details: { field: 'response_format' } });
      const prompt =
        request.kind === 'chat'
          ? { kind: 'chat' as const, chat: this.#chatFor(sequence, request.template), history: toHistory(forced ? [forcedCallNote(forced), ...request.messages] : request.messages, tools) }
          : { kind: 'completion' as const, text: request.prompt, suffix: request.suffix };
      if ((functions || forced) && request.logprobs !== undefined) {
        throw new HearthError('USAGE', 'invalid request: logprobs: log-probabilities cannot be combined with tools', { details: { field: 'logprobs' } });
      }
      const chatState = prompt.kind === 'chat' ? prompt.chat.chatWrapper.generateContextState({ chatHistory: prompt.history, availableFunctions: functions, documentFunctionParams: true }) : undefined;
      const suffix = prompt.kind === 'completion' ? prompt.suffix : undefined;
      if (suffix !== undefined && request.logprobs !== undefined) {
        throw new HearthError('USAGE', 'invalid request: logprobs: log-probabilities cannot be combined with a suffix', { details: { field: 'logprobs' } });
      }
      const promptTokens = chatState
        ? chatState.contextText.tokenize(sequence.model.tokenizer).length
        : // An infill adds its three markers around the prefix and the suffix.
          sequence.model.tokenize((prompt as { text: string }).text, false).length + (suffix !== undefined ? sequence.model.tokenize(suffix, false).length + 3 : 0);
      if (request.contextLimit !== undefined && request.contextLimit > sequence.contextSize) {
        // Ollama reloads the model with the larger context; hearth's contexts are sized per model, at load.
        throw new HearthError('USAGE', `invalid request: options.num_ctx: ${request.contextLimit} is more than this model's loaded context (${sequence.contextSize} tokens)`, {
          details: { field: 'options.num_ctx', contextSize: sequence.contextSize },
          hint: 'ask for at most the loaded context, or raise HEARTH_CONTEXT_SIZE (up to the model\'s trained context) and restart',
        });
      }
      // A prompt that does not fit is an error, never silently cut: node-llama-cpp would shift the
      // context (dropping the prompt's start, or earlier chat turns) and answer as if nothing happened.
      const contextSize = Math.min(sequence.contextSize, request.contextLimit ?? Number.POSITIVE_INFINITY);
      const room = contextSize - promptTokens;
      if (room < 1) {
        throw new HearthError('INPUT_TOO_LONG', `the prompt is ${promptTokens} tokens, and the context holds ${contextSize} (at least one token must be left to generate)`, {
          details: { promptTokens, contextSize },
          hint: 'shorten the prompt, or raise HEARTH_CONTEXT_SIZE up to the model\'s trained context',
        });
      }
      const format = forced ? ({ type: 'json_schema', schema: forcedCallSchema(forced) } as const) : request.format;
      const grammar = format ? await this.#grammars.get(format) : undefined;
      // A forced call's text is the call itself, parsed once whole; it is not the answer's text.
      let callText = '';
      const options = {
        grammar,
        signal: request.signal ? AbortSignal.any([request.signal, stopper.signal]) : stopper.signal,
        stopOnAbortSignal: true,
        // The answer ends where the context does ('length'), rather than shifting the context to go on.
        maxTokens: Math.min(request.maxTokens ?? room, room),
        temperature: request.temperature,
        topP: request.topP,
        topK: request.topK,
        minP: request.minP,
        repeatPenalty: repeatPenaltyOf(request.repeatPenalty),
        tokenBias: request.logitBias ? tokenBiasOf(sequence.model, request.logitBias) : undefined,
        seed: request.seed,
        onTextChunk: (text: string) => {
          if (forced) {
            callText += text;
            return;
          }
          emit(stops.push(text));
          if (stops.stopped) stopper.abort();
        },
        onToken: (tokens: readonly unknown[]) => {
          completionTokens += tokens.length;
        },
      };
      let stopReason: string;
      const calls: ToolCall[] = [];
      if (request.logprobs !== undefined) {
        const model = sequence.model;
        const tokens = chatState
          ? chatState.contextText.tokenize(model.tokenizer)
          : [...(model.tokens.bos !== null && model.tokens.shouldPrependBosToken ? [model.tokens.bos] : []), ...model.tokenize((prompt as { text: string }).text, false)];
        const result = await runLogprobLoop(sequence, {
          ...options,
          prompt: tokens,
          top: request.logprobs,
          stopTriggers: chatState ? triggerTokens(model, chatState.stopGenerationTriggers) : [],
          repeatPenalty: options.repeatPenalty,
          onToken: (text, entry) => {
            completionTokens++;
            queue.push({ type: 'logprob', entry });
            options.onTextChunk(text);
          },
        });
        stopReason = result.stopReason === 'length' ? 'maxTokens' : result.stopReason;
      } else if (prompt.kind === 'chat') {
        const result = functions
          ? await prompt.chat.generateResponse(prompt.history, { ...options, grammar: undefined, functions, documentFunctionParams: true })
          : await prompt.chat.generateResponse(prompt.history, options);
        stopReason = result.metadata.stopReason;
        for (const call of result.functionCalls ?? []) calls.push({ id: newCallId(), name: call.functionName, arguments: (call.params ?? {}) as Record<string, unknown> });
        const forcedCall = forced ? parseForcedCall(callText) : undefined;
        if (forcedCall) calls.push(forcedCall);
        // A forced call cut short by the token limit is no call: its text is the answer, ending in 'length'.
        else if (forced) emit(callText);
      } else {
        const completion = this.#completionFor(sequence);
        if (suffix !== undefined && !completion.infillSupported) {
          throw new HearthError('MODEL_UNSUPPORTED', 'this model has no fill-in-the-middle tokens, so it cannot complete before a suffix', { details: { field: 'suffix' } });
        }
        const result =
          suffix !== undefined
            ? await completion.generateInfillCompletionWithMeta(prompt.text, suffix, { ...options, disableContextShift: true })
            : await completion.generateCompletionWithMeta(prompt.text, { ...options, disableContextShift: true });
        stopReason = result.metadata.stopReason;
      }
      emit(stops.flush());
      for (const call of calls) queue.push({ type: 'tool_call', call });
      const reason = calls.length > 0 ? 'tool_calls' : stops.stopped ? 'stop' : mapStopReason(stopReason);
      queue.push({ type: 'done', stopReason: reason, promptTokens, completionTokens });
    } catch (error) {
      if (request.signal?.aborted) throw abortError(request.signal);
      if (error instanceof HearthError) throw error;
      const message = (error as Error).message;
      if (/context size|too long|exceed/i.test(message)) {
        throw new HearthError('INPUT_TOO_LONG', `prompt does not fit the context of ${sequence.contextSize} tokens: ${message}`, { cause: error });
      }
      throw new HearthError('INFERENCE_FAILED', `generation failed: ${message}`, { cause: error });
    } finally {
      this.#idle.push(sequence);
      release();
    }
  }

  #chatFor(sequence: LlamaContextSequence, template: string | undefined): LlamaChat {
    let chats = this.#chats.get(sequence);
    if (!chats) this.#chats.set(sequence, (chats = new Map()));
    const key = template ?? '';
    let chat = chats.get(key);
    if (chat) {
      // Most recently used last, so the first is the one to drop.
      chats.delete(key);
    } else {
      const chatWrapper = template === undefined ? undefined : assertChatTemplate(template);
      chat = new LlamaChat({ contextSequence: sequence, autoDisposeSequence: false, ...(chatWrapper ? { chatWrapper } : {}) });
      if (chats.size >= TEMPLATES_PER_SEQUENCE) {
        const [oldest, engine] = chats.entries().next().value!;
        chats.delete(oldest);
        engine.dispose({ disposeSequence: false });
      }
    }
    chats.set(key, chat);
    return chat;
  }

  #completionFor(sequence: LlamaContextSequence): LlamaCompletion {
    let completion = this.#completions.get(sequence);
    if (!completion) this.#completions.set(sequence, (completion = new LlamaCompletion({ contextSequence: sequence, autoDisposeSequence: false })));
    return completion;
  }

  async dispose(): Promise<void> {
    for (const engine of [...[...this.#chats.values()].flatMap((chats) => [...chats.values()]), ...this.#completions.values()]) engine.dispose({ disposeSequence: false });
    await this.context.dispose();
  }
}

/** OpenAI's logit_bias as node-llama-cpp's token bias: logits shifted as given, and −100 (OpenAI's "ban") never generated. */
function tokenBiasOf(model: LlamaModel, bias: Readonly<Record<number, number>>): TokenBias {
  const tokens = model.fileInfo.metadata.tokenizer?.ggml?.tokens;
  const vocabulary = Array.isArray(tokens) ? tokens.length : 0;
  const out = new TokenBias(model.tokenizer);
  for (const [key, value] of Object.entries(bias)) {
    const id = Number(key);
    // An id past the vocabulary would index past llama.cpp's logits.
    if (!Number.isSafeInteger(id) || id < 0 || id >= vocabulary) {
      throw new HearthError('USAGE', `invalid request: logit_bias: token ${key} is not in this model's vocabulary (${vocabulary} tokens)`, { details: { field: 'logit_bias', vocabulary } });
    }
    out.set(id as Token, value <= -100 ? 'never' : { logit: value });
  }
  return out;
}

/** node-llama-cpp's penalty options, with its defaults kept for what the request leaves unset. */
function repeatPenaltyOf(penalty: GenerateRequest['repeatPenalty']) {
  if (!penalty) return undefined;
  const defined = Object.fromEntries(Object.entries(penalty).filter(([, v]) => v !== undefined));
  // lastTokens 0 is node-llama-cpp's "off"; false says so without a zero-length window.
  return penalty.lastTokens === 0 ? (false as const) : defined;
}

function mapStopReason(reason: string): StopReason {
  if (reason === 'maxTokens') return 'length';
  if (reason === 'abort') return 'abort';
  return 'stop';
}
