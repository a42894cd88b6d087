import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { HearthError } from '../../../errors/index.js';
import type { Lease } from '../../../pool/model-pool.js';
import type { ChatMessage, GenerateRequest, ToolCall } from '../../../runtime/types.js';
import type { ModelDefinition } from '../../../store/index.js';
import type { ServerContext } from '../../context.js';
import { MAX_CHOICES, generateChoices } from '../../choices.js';
import { withDefinition } from '../../../pool/with-definition.js';
import { definitionOf } from '../../definitions.js';
import { assertCanInsert, finishReason, startGeneration, tokenBudget, type GenerationTimings } from '../../generation.js';
import { chatLogprobs, chatLogprobsBody, chatLogprobsFields, completionLogprobs, completionLogprobsBody, completionLogprobsField } from '../../logprobs.js';
import { openAiFormat, responseFormatSchema } from '../../output-format.js';
import { contentSchema, openAiUnsupported, parseBody, refuseUnsupported, stopSchema } from '../../request.js';
import { openStream } from '../../streaming.js';
import { assertCanCallTools, checkToolResults, parseArguments, toolChoiceSchema, toolsOf, toolsSchema } from '../../tools.js';

const sampling = {
  model: z.string().min(1),
  stream: z.boolean().default(false),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullable().optional(),
  max_tokens: z.number().int().positive().nullable().optional(),
  max_completion_tokens: z.number().int().positive().nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  presence_penalty: z.number().min(-2).max(2).nullable().optional(),
  frequency_penalty: z.number().min(-2).max(2).nullable().optional(),
  // llama.cpp server's extensions, which OpenAI clients send through extra body fields.
  top_k: z.number().int().min(0).nullable().optional(),
  min_p: z.number().min(0).max(1).nullable().optional(),
  repeat_penalty: z.number().positive().nullable().optional(),
  logit_bias: z.record(z.string().regex(/^\d+$/, 'token ids'), z.number().min(-100).max(100)).nullable().optional(),
  seed: z.number().int().nullable().optional(),
  stop: stopSchema,
  n: z.number().int().min(1).max(MAX_CHOICES).nullable().optional(),
  response_format: responseFormatSchema,
};

const toolCallSchema = z.object({ id: z.string().min(1), type: z.literal('function'), function: z.object({ name: z.string().min(1), arguments: z.string() }) });

const chatBody = z.object({
  ...sampling,
  messages: z
    .array(
      z
        .object({
          role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
          content: contentSchema.optional().transform((c) => c ?? ''),
          tool_calls: z.array(toolCallSchema).nullable().optional(),
          tool_call_id: z.string().nullable().optional(),
        })
        .loose(),
    )
    .min(1),
  ...chatLogprobsFields,
  tools: toolsSchema,
  tool_choice: toolChoiceSchema,
  parallel_tool_calls: z.boolean().nullable().optional(),
});

const completionBody = z.object({
  ...sampling,
  prompt: z.union([z.string(), z.array(z.string()).min(1).max(MAX_CHOICES)]),
  echo: z.boolean().nullable().optional(),
  suffix: z.string().nullable().optional(),
  ...completionLogprobsField,
});

/** OpenAI's default for the legacy completions endpoint (chat's is the server's bound). */
const COMPLETION_DEFAULT_TOKENS = 16;

type Sampling = z.output<z.ZodObject<typeof sampling>>;

function samplingOf(req: Sampling, limit: number, defaultTokens = limit) {
  const field = req.max_completion_tokens != null ? 'max_completion_tokens' : 'max_tokens';
  return {
    maxTokens: tokenBudget(req.max_completion_tokens ?? req.max_tokens ?? Math.min(defaultTokens, limit), limit, field),
    temperature: req.temperature ?? undefined,
    topP: req.top_p ?? undefined,
    topK: req.top_k ?? undefined,
    minP: req.min_p ?? undefined,
    // OpenAI applies no repetition penalty unless asked (Ollama's API defaults to 1.1).
    repeatPenalty: {
      penalty: req.repeat_penalty ?? undefined,
      presencePenalty: req.presence_penalty ?? undefined,
      frequencyPenalty: req.frequency_penalty ?? undefined,
    },
    logitBias: req.logit_bias && Object.keys(req.logit_bias).length > 0 ? Object.fromEntries(Object.entries(req.logit_bias).map(([id, bias]) => [Number(id), bias])) : undefined,
    seed: req.seed ?? undefined,
    stop: req.stop,
    format: openAiFormat(req.response_format),
  };
}

/** A definition's num_predict, where a request sets no max_tokens (Ollama's -1 and -2 are the server's bound). */
function definedTokens(definition: ModelDefinition | undefined, limit: number): number | undefined {
  const n = definition?.parameters.num_predict;
  return n === undefined ? undefined : n > 0 ? Math.min(n, limit) : limit;
}

/** POST /v1/chat/completions and /v1/completions, streamed over SSE or not. */
export function openAiGeneration(app: FastifyInstance, ctx: ServerContext): void {
  app.post('/v1/chat/completions', async (request, reply) => {
    refuseUnsupported(request.body, openAiUnsupported);
    const req = parseBody(chatBody, request.body);
    const messages = req.messages.map(
      (m, i): ChatMessage => ({
        role: m.role === 'developer' ? 'system' : m.role,
        content: m.content,
        toolCalls: m.tool_calls?.map((c, j) => ({ id: c.id, name: c.function.name, arguments: parseArguments(c.function.arguments, `messages.${i}.tool_calls.${j}.function.arguments`) })),
        toolCallId: m.tool_call_id ?? undefined,
      }),
    );
    checkToolResults(messages, (i) => `messages.${i}.tool_call_id`);
    const tools = toolsOf(req.tools, req.tool_choice);
    const definition = await definitionOf(ctx, req.model);
    const limit = ctx.config.server.maxTokens;
    const body: GenerateRequest = { kind: 'chat', messages, ...tools, ...samplingOf(req, limit, definedTokens(definition, limit)), logprobs: chatLogprobs(req) };
    return respond(request, reply, req, choicesOf([withDefinition(body, definition)], req), 'chat', (lease) => assertCanCallTools(lease, tools.toolChoice, definition?.template));
  });
  app.post('/v1/completions', async (request, reply) => {
    refuseUnsupported(request.body, openAiUnsupported);
    const req = parseBody(completionBody, request.body);
    const definition = await definitionOf(ctx, req.model);
    const limit = ctx.config.server.maxTokens;
    const sampling = { ...samplingOf(req, limit, definedTokens(definition, limit) ?? COMPLETION_DEFAULT_TOKENS), logprobs: completionLogprobs(req) };
    const prompts = typeof req.prompt === 'string' ? [req.prompt] : req.prompt;
    const suffix = req.suffix ? req.suffix : undefined;
    const bodies = prompts.map((prompt): GenerateRequest => withDefinition({ kind: 'completion', prompt, suffix, ...sampling }, definition));
    return respond(request, reply, req, choicesOf(bodies, req, prompts), 'text', (lease) => assertCanInsert(lease, suffix));
  });

  async function respond(request: FastifyRequest, reply: FastifyReply, req: Sampling, choices: Choice[], kind: 'chat' | 'text', check?: (lease: Lease) => void) {
    const id = `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);
    const object = kind === 'chat' ? 'chat.completion' : 'text_completion';
    const { lease, signal, startedAt, loadedAt } = await startGeneration(ctx, request, reply, req.model, undefined, check);
    const requests = choices.map((c) => ({ ...c.request, signal }));
    if (!req.stream) {
      const texts = choices.map((c) => c.echo ?? '');
      const run = generateChoices(ctx, lease, requests, startedAt, loadedAt);
      let step = await run.next();
      while (!step.done) {
        texts[step.value.index] += step.value.text;
        step = await run.next();
      }
      const timings = step.value;
      const body = choices.map((_, index) => {
        const finish = finishReason(timings[index]!.stopReason);
        const logprobs = logprobsOf(kind, choices[index]!, timings[index]!);
        if (kind === 'text') return { index, text: texts[index], logprobs, finish_reason: finish };
        const calls = timings[index]!.toolCalls;
        const message = calls.length > 0 ? { role: 'assistant', content: texts[index] || null, tool_calls: calls.map(toolCall) } : { role: 'assistant', content: texts[index] };
        return { index, message, logprobs, finish_reason: finish };
      });
      return { id, object, created, model: req.model, choices: body, usage: usage(choices, timings) };
    }
    const stream = openStream(request, reply, 'sse', signal);
    const chunkObject = kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
    const chunk = (choice: Record<string, unknown>) => ({ id, object: chunkObject, created, model: req.model, choices: [choice] });
    const piece = (index: number, text: string) => (kind === 'chat' ? { index, delta: { content: text }, finish_reason: null } : { index, text, finish_reason: null });
    try {
      const run = generateChoices(ctx, lease, requests, startedAt, loadedAt);
      choices.forEach((c, index) => {
        if (kind === 'chat') stream.send(chunk({ index, delta: { role: 'assistant', content: '' }, finish_reason: null }));
        else if (c.echo !== undefined) stream.send(chunk(piece(index, c.echo)));
      });
      let step = await run.next();
      while (!step.done) {
        stream.send(chunk(piece(step.value.index, step.value.text)));
        step = await run.next();
      }
      const timings = step.value;
      timings.forEach((t, index) => {
        // Calls are known whole once the answer ends: each goes in one delta, with its whole arguments.
        if (t.toolCalls.length > 0) stream.send(chunk({ index, delta: { tool_calls: t.toolCalls.map((c, k) => ({ index: k, ...toolCall(c) })) }, finish_reason: null }));
        // Log-probabilities come whole, in one chunk before the finish (the runtime reports them as the answer ends).
        const logprobs = logprobsOf(kind, choices[index]!, t);
        if (logprobs) stream.send(chunk(kind === 'chat' ? { index, delta: {}, logprobs, finish_reason: null } : { index, text: '', logprobs, finish_reason: null }));
        const finish = finishReason(t.stopReason);
        stream.send(chunk(kind === 'chat' ? { index, delta: {}, finish_reason: finish } : { index, text: '', finish_reason: finish }));
      });
      if (req.stream_options?.include_usage) stream.send({ id, object: chunkObject, created, model: req.model, choices: [], usage: usage(choices, timings) });
      stream.end();
    } catch (error) {
      stream.end(error);
    }
    return reply;
  }
}

/** A choice's `logprobs` in its endpoint's shape, or null when the request asked for none. */
function logprobsOf(kind: 'chat' | 'text', choice: Choice, timings: GenerationTimings) {
  if (choice.request.logprobs === undefined) return null;
  return kind === 'chat' ? chatLogprobsBody(timings.logprobs) : completionLogprobsBody(timings.logprobs, choice.echo?.length ?? 0);
}

/** A call as OpenAI writes it: its arguments as a JSON string. */
function toolCall(call: ToolCall) {
  return { id: call.id, type: 'function' as const, function: { name: call.name, arguments: JSON.stringify(call.arguments) } };
}

/** One answer to generate: its request, which prompt it answers (for usage), and the prompt to echo before it. */
interface Choice {
  request: GenerateRequest;
  prompt: number;
  echo: string | undefined;
}

/**
 * OpenAI's choices: `n` for each prompt, numbered prompt by prompt. With a
 * seed, choice i of a prompt samples with seed + i, so that the n answers
 * differ and the same request still gives the same answers.
 */
function choicesOf(bodies: readonly GenerateRequest[], req: Sampling & { echo?: boolean | null | undefined }, prompts?: readonly string[]): Choice[] {
  const n = req.n ?? 1;
  if (bodies.length * n > MAX_CHOICES) {
    const field = bodies.length > 1 ? 'prompt' : 'n';
    throw new HearthError('USAGE', `invalid request: ${field}: ${bodies.length} prompt(s) × n ${n} asks for ${bodies.length * n} answers; one request gets at most ${MAX_CHOICES}`, { details: { field, limit: MAX_CHOICES } });
  }
  return bodies.flatMap((body, prompt) =>
    Array.from({ length: n }, (_, i) => ({
      request: { ...body, seed: body.seed === undefined ? undefined : body.seed + i },
      prompt,
      echo: req.echo === true ? prompts?.[prompt] : undefined,
    })),
  );
}

/** Prompt tokens once per prompt (its n answers share it), completion tokens of every answer. */
function usage(choices: readonly Choice[], timings: readonly GenerationTimings[]) {
  const promptTokens = new Map<number, number>();
  choices.forEach((c, i) => promptTokens.set(c.prompt, timings[i]!.promptTokens));
  const prompt = [...promptTokens.values()].reduce((a, b) => a + b, 0);
  const completion = timings.reduce((a, t) => a + t.completionTokens, 0);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}
