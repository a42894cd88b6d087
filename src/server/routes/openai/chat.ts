import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { GenerateRequest } from '../../../runtime/types.js';
import type { ServerContext } from '../../context.js';
import { collectText, finishReason, generate, startGeneration, tokenBudget } from '../../generation.js';
import { openAiFormat, responseFormatSchema } from '../../output-format.js';
import { contentSchema, openAiUnsupported, parseBody, refuseUnsupported, stopSchema } from '../../request.js';
import { openStream } from '../../streaming.js';

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
  seed: z.number().int().nullable().optional(),
  stop: stopSchema,
  n: z.literal(1).nullable().optional(),
  response_format: responseFormatSchema,
};

const chatBody = z.object({
  ...sampling,
  messages: z.array(z.object({ role: z.enum(['system', 'developer', 'user', 'assistant']), content: contentSchema }).loose()).min(1),
});

const completionBody = z.object({
  ...sampling,
  prompt: z.union([z.string(), z.array(z.string()).length(1)]).transform((p) => (Array.isArray(p) ? p[0]! : p)),
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
    seed: req.seed ?? undefined,
    stop: req.stop,
    format: openAiFormat(req.response_format),
  };
}

/** POST /v1/chat/completions and /v1/completions, streamed over SSE or not. */
export function openAiGeneration(app: FastifyInstance, ctx: ServerContext): void {
  app.post('/v1/chat/completions', async (request, reply) => {
    refuseUnsupported(request.body, openAiUnsupported);
    const req = parseBody(chatBody, request.body);
    const messages = req.messages.map((m) => ({ role: m.role === 'developer' ? ('system' as const) : m.role, content: m.content }));
    return respond(request, reply, req, { kind: 'chat', messages, ...samplingOf(req, ctx.config.server.maxTokens) }, 'chat');
  });
  app.post('/v1/completions', async (request, reply) => {
    refuseUnsupported(request.body, openAiUnsupported);
    const req = parseBody(completionBody, request.body);
    return respond(request, reply, req, { kind: 'completion', prompt: req.prompt, ...samplingOf(req, ctx.config.server.maxTokens, COMPLETION_DEFAULT_TOKENS) }, 'text');
  });

  async function respond(
    request: FastifyRequest,
    reply: FastifyReply,
    req: Sampling,
    body: GenerateRequest,
    kind: 'chat' | 'text',
  ) {
    const id = `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);
    const object = kind === 'chat' ? 'chat.completion' : 'text_completion';
    const { lease, signal, startedAt, loadedAt } = await startGeneration(ctx, request, reply, req.model);
    const generation = { ...body, signal };
    if (!req.stream) {
      const { text, timings: t } = await collectText(generate(ctx, lease, generation, startedAt, loadedAt));
      const choice = kind === 'chat' ? { index: 0, message: { role: 'assistant', content: text }, logprobs: null, finish_reason: finishReason(t.stopReason) } : { index: 0, text, logprobs: null, finish_reason: finishReason(t.stopReason) };
      return { id, object, created, model: req.model, choices: [choice], usage: usage(t.promptTokens, t.completionTokens) };
    }
    const stream = openStream(request, reply, 'sse', signal);
    const chunkObject = kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
    const chunk = (choice: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ id, object: chunkObject, created, model: req.model, choices: [choice], ...extra });
    try {
      const run = generate(ctx, lease, generation, startedAt, loadedAt);
      if (kind === 'chat') stream.send(chunk({ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }));
      let step = await run.next();
      while (!step.done) {
        stream.send(chunk(kind === 'chat' ? { index: 0, delta: { content: step.value }, finish_reason: null } : { index: 0, text: step.value, finish_reason: null }));
        step = await run.next();
      }
      const t = step.value;
      stream.send(chunk(kind === 'chat' ? { index: 0, delta: {}, finish_reason: finishReason(t.stopReason) } : { index: 0, text: '', finish_reason: finishReason(t.stopReason) }));
      if (req.stream_options?.include_usage) stream.send({ id, object: chunkObject, created, model: req.model, choices: [], usage: usage(t.promptTokens, t.completionTokens) });
      stream.end();
    } catch (error) {
      stream.end(error);
    }
    return reply;
  }
}

function usage(prompt: number, completion: number) {
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}
