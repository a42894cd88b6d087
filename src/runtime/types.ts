import type { ResolvedModel } from '../store/index.js';
import type { GrammarSchema, OutputFormat } from './json-schema-subset.js';

/** How token vectors become one text vector. */
export type Pooling = 'none' | 'mean' | 'cls' | 'last' | 'rank';
export type Device = 'cpu' | 'cuda' | 'vulkan' | 'metal';
export type DeviceRequest = Device | 'auto';

/** What a loaded model computes with: enough to tell two machines' numbers apart. */
export interface RuntimeIdentity {
  /** e.g. "llama.cpp" */
  engine: string;
  /** e.g. "ggml-org/llama.cpp@v0.5.0" */
  engineVersion: string;
  /** e.g. "node-llama-cpp@3.22.1" */
  binding: string;
  device: Device;
  /** The ggml CPU kernel variant actually loaded (e.g. "cascadelake"), when the backend picks one per CPU. */
  cpuVariant: string | undefined;
  /** Model file digest (sha256). */
  digest: string | undefined;
  threads: number;
  /** Parallel contexts (embeddings) or sequences (generation). */
  parallel: number;
  contextSize: number;
  pooling: Pooling | undefined;
  normalize: boolean | undefined;
}

/** Facts read from a model file before loading it. */
export interface ModelInfo {
  /** File format, as Ollama's details.format names it: "gguf", "onnx". */
  format: string;
  architecture: string;
  /** Encoder-only models embed; decoders generate (and can embed too). */
  /** 'tools' when the chat template has a tool format (it renders `tools`), as Ollama decides it. */
  /** 'insert' when the vocabulary has fill-in-the-middle tokens (Ollama's name for a `suffix`-capable model). */
  /** 'speaker-embedding' when it embeds voices from audio (embedAudio), not text. */
  capabilities: Array<'embedding' | 'generation' | 'tools' | 'insert' | 'speaker-embedding'>;
  trainContextSize: number;
  fileBytes: number;
  /** Bytes of RAM a load with the default context is expected to take, from file metadata alone. */
  estimatedBytes: number;
  pooling: Pooling | undefined;
  quantization: string | undefined;
  parameters: number | undefined;
  /** The chat template (Jinja) the file carries, if any. */
  chatTemplate: string | undefined;
}

export interface Parallelism {
  threads: number;
  /** Parallel embedding contexts, or parallel generation sequences. */
  parallel: number;
}

export interface LoadOptions extends Parallelism {
  contextSize?: number | undefined;
  /** What `inspect` returned for this model, so that a backend need not read the model's header again. */
  info?: ModelInfo | undefined;
  signal?: AbortSignal | undefined;
  /** Told about every inference batch the engine runs, for metrics. */
  onBatch?: BatchObserver | undefined;
  /** Taken around every unit of engine work (a decode step, an encoder batch); see CpuGate. */
  cpu?: CpuGate | undefined;
}

/**
 * The machine's cores, shared fairly between models. An engine takes its
 * threads' worth of slots for one unit of work (one decode step of a
 * generation context, one encoder batch) and gives them back when the unit
 * ends, so work of another model waits at most one unit, never a whole
 * generation. Waiters are served first come, first served.
 */
export interface CpuGate {
  /** Resolves when `threads` slots are free; call the returned function once the unit of work ends. */
  acquire(threads: number): Promise<() => void>;
}

/** A gate that never waits, for engines used outside a pool. */
export const ungated: CpuGate = { acquire: async () => () => undefined };

/** Told about each inference batch an engine runs. */
export type BatchObserver = (batch: BatchStats) => void;

/** One inference batch as the engine ran it. */
export interface BatchStats {
  /** Sequences in the batch. */
  rows: number;
  /** Real tokens, without padding. */
  tokens: number;
  /** Tokens computed, padding included. */
  paddedTokens: number;
}

/** Text, or token ids of the model's own vocabulary (OpenAI's token-array input). */
export type EmbedInput = string | readonly number[];

export interface EmbedOptions {
  /** Cut over-long input to the context instead of failing with INPUT_TOO_LONG. */
  truncate?: boolean;
  signal?: AbortSignal | undefined;
}

export interface EmbedResult {
  vectors: Float32Array[];
  /** Tokens evaluated per input, after truncation. */
  tokens: number[];
}

/** Decoded audio: one array of samples per channel, all of one length, at `sampleRate`. */
export interface AudioInput {
  sampleRate: number;
  channels: Float32Array[];
}

export interface AudioEmbedOptions {
  /** Subtract the model's global embedding mean (SpeechBrain's encode_batch(normalize=True)). */
  normalize?: boolean | undefined;
  signal?: AbortSignal | undefined;
}

/** What a speaker model takes and gives. */
export interface SpeakerFacts {
  /** The rate the model's features are computed at; other rates are resampled to it. */
  sampleRate: number;
  /** The shortest clip the network can take, in samples at `sampleRate`. */
  minSamples: number;
  dims: number;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  /** An assistant's calls, answered by the `tool` messages after it. */
  toolCalls?: ToolCall[] | undefined;
  /** A tool message's answer to this call of the assistant message before it. */
  toolCallId?: string | undefined;
}

/** A function the model may call; `parameters` is a schema grammarSchema() accepted. */
export interface ToolSpec {
  name: string;
  description?: string | undefined;
  parameters: GrammarSchema;
}

export interface ToolCall {
  id: string;
  name: string;
  arguments: Record<string, unknown>;
}

/** `auto`: the model decides, through its template's tool format; `required` or one named tool: a call is forced by a grammar. */
export type ToolChoice = 'auto' | 'required' | { name: string };

export interface SamplingOptions {
  maxTokens?: number | undefined;
  temperature?: number | undefined;
  topP?: number | undefined;
  /** Candidates kept by top-k sampling (0: all). */
  topK?: number | undefined;
  /** Candidates below this share of the likeliest one's probability are dropped. */
  minP?: number | undefined;
  /** llama.cpp's repetition penalties over the last tokens; unset fields keep node-llama-cpp's defaults (none applied, over a window of 64). */
  repeatPenalty?: RepeatPenalty | undefined;
  /** Added to the logits of token ids (OpenAI's logit_bias, −100 to 100); −100 bans the token. */
  logitBias?: Readonly<Record<number, number>> | undefined;
  /** Tokens the request may use in all (prompt and answer), when below the model's context: Ollama's num_ctx. */
  contextLimit?: number | undefined;
  seed?: number | undefined;
  stop?: string[] | undefined;
  /** Output constrained by a grammar: any JSON object, or JSON valid against a schema (grammarSchema() made it). */
  format?: OutputFormat | undefined;
  /** Report each token's log-probability, with this many likeliest alternatives (0: none); unset: no log-probabilities. */
  logprobs?: number | undefined;
  signal?: AbortSignal | undefined;
}

export interface RepeatPenalty {
  /** Divides the logits of recent tokens (1: off). */
  penalty?: number | undefined;
  /** How many recent tokens are penalized (0: none). */
  lastTokens?: number | undefined;
  /** Subtracted from the logit of every recent token. */
  presencePenalty?: number | undefined;
  /** Subtracted from a recent token's logit once per time it occurs. */
  frequencyPenalty?: number | undefined;
  penalizeNewLine?: boolean | undefined;
}

export type GenerateRequest = SamplingOptions &
  (
    | {
        kind: 'chat';
        messages: ChatMessage[];
        tools?: ToolSpec[] | undefined;
        toolChoice?: ToolChoice | undefined;
        /** A Jinja chat template to use instead of the model's own (a model definition's); checked by assertChatTemplate. */
        template?: string | undefined;
      }
    | {
        kind: 'completion';
        prompt: string;
        /** Text after the answer: the model fills in between (fill-in-the-middle), on a model with the 'insert' capability. */
        suffix?: string | undefined;
      }
  );

export type StopReason = 'stop' | 'length' | 'abort' | 'tool_calls';

/** A generated token and how likely the sampler found it (natural log), with the likeliest alternatives. */
export interface TokenLogprob {
  token: string;
  logprob: number;
  /** The token's text as UTF-8. */
  bytes: number[];
  top: Array<{ token: string; logprob: number; bytes: number[] }>;
}

export type GenerateEvent =
  | { type: 'text'; text: string }
  | { type: 'logprob'; entry: TokenLogprob }
  | { type: 'tool_call'; call: ToolCall }
  | { type: 'done'; stopReason: StopReason; promptTokens: number; completionTokens: number };

/** A model in memory. Every method is safe to call concurrently; the model queues internally. */
export interface LoadedModel {
  readonly info: ModelInfo;
  readonly identity: RuntimeIdentity;
  /**
   * The longest input embed() takes without truncating, special tokens included. Not identity.contextSize:
   * that is the generation context for a model that generates, and llama.cpp takes one token less than
   * its embedding context.
   */
  readonly maxInputTokens: number;
  /** Special tokens embed() puts around every input (2 for BERT's [CLS] … [SEP]); `maxInputTokens - specialTokens` counted tokens embed whole. */
  readonly specialTokens: number;
  /** Tokens the model's own tokenizer makes of `text`, without the special tokens embed() adds. Synchronous: tokenizers run on the calling thread. */
  countTokens(text: string): number;
  embed(inputs: readonly EmbedInput[], options?: EmbedOptions): Promise<EmbedResult>;
  /** Speaker models only (capability 'speaker-embedding'): one embedding per clip, in order. */
  embedAudio?(clips: readonly AudioInput[], options?: AudioEmbedOptions): Promise<Float32Array[]>;
  /** Speaker models only. */
  readonly speaker?: SpeakerFacts | undefined;
  generate(request: GenerateRequest): AsyncIterable<GenerateEvent>;
  /** Rebuilds contexts with new thread and parallelism settings, keeping the weights. */
  configure(parallelism: Parallelism): Promise<void>;
  /** Idempotent. */
  dispose(): Promise<void>;
}

/** The seam between the pool and an inference engine (llama.cpp now, ONNX Runtime next). */
export interface Backend {
  readonly name: string;
  /** True when this backend loads these files. */
  accepts(model: ResolvedModel): boolean;
  /**
   * Starts, in the background, what this backend needs before it can load
   * any model (llama.cpp: its runtime, whose binary check runs in a
   * subprocess), so that it overlaps other work. Resolves once that work is
   * under way, not done. Never rejects: a failure surfaces from the load
   * that follows.
   */
  prepare?(model: ResolvedModel): Promise<void>;
  inspect(model: ResolvedModel, signal?: AbortSignal): Promise<ModelInfo>;
  load(model: ResolvedModel, options: LoadOptions): Promise<LoadedModel>;
  /** Idempotent. */
  dispose(): Promise<void>;
}
