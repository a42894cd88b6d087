import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { HearthError } from '../../../errors/index.js';
import type { Lease } from '../../../pool/model-pool.js';
import type { ChatMessage, GenerateRequest, ToolCall } from '../../../runtime/types.js';
import type { ServerContext } from '../../context.js';
import { assertCanInsert, collectText, generate, startGeneration, type GenerationTimings } from '../../generation.js';
import { withDefinition } from '../../../pool/with-definition.js';
import { definitionOf } from '../../definitions.js';
import { chatLogprobs, ollamaLogprobsBody } from '../../logprobs.js';
import { ollamaFormat } from '../../output-format.js';
import { ollamaUnsupported, parseBody, refuseUnsupported } from '../../request.js';
import { openStream } from '../../streaming.js';
import { assertCanCallTools, toolsOf, toolsSchema } from '../../tools.js';
import { ollamaCommon, optionsUnder, samplingFromOptions } from './options.js';

const generateBody = z.object({
  ...ollamaCommon,
  prompt: z.string().optional(),
  suffix: z.string().optional(),
  system: z.string().optional(),
  raw: z.boolean().optional(),
  stream: z.boolean().default(true),
});

const chatBody = z.object({
  ...ollamaCommon,
  messages: z
    .array(
      z
        .object({
          role: z.enum(['system', 'user', 'assistant', 'tool']),
          content: z.string().default(''),
          tool_calls: z.array(z.object({ function: z.object({ name: z.string().min(1), arguments: z.record(z.string(), z.unknown()).default({}) }) })).optional(),
          tool_name: z.string().optional(),
        })
        .loose(),
    )
    .default([]),
  tools: toolsSchema,
  stream: z.boolean().default(true),
});

/** POST /api/generate and /api/chat: NDJSON streams; an empty prompt loads or (keep_alive 0) unloads, as in Ollama. */
export function ollamaGeneration(app: FastifyInstance, ctx: ServerContext): void {
  app.post('/api/generate', async (request, reply) => {
    refuseUnsupported(request.body, ollamaUnsupported);
    const req = parseBody(generateBody, request.body);
    if (!req.prompt) return loadOrUnload(request, reply, req.model, req.keep_alive, 'generate');
    const definition = await definitionOf(ctx, req.model);
    const sampling = { ...samplingFromOptions(optionsUnder(definition, req.options), ctx.config.server.maxTokens), format: ollamaFormat(req.format), logprobs: chatLogprobs(req) };
    // Raw mode sends the prompt as is; otherwise the model's template applies (or, without one, a plain completion).
    const system = req.system ?? definition?.system;
    const messages: ChatMessage[] = [...(system ? [{ role: 'system' as const, content: system }] : []), { role: 'user', content: req.prompt }];
    // A suffix is fill-in-the-middle: the prompt and the suffix go around the model's FIM tokens, never through the chat template.
    const suffix = req.suffix ? req.suffix : undefined;
    const body: GenerateRequest = req.raw || suffix !== undefined ? { kind: 'completion', prompt: req.prompt, suffix, ...sampling } : { kind: 'chat', messages, ...sampling };
    return run(request, reply, req, 'generate', withDefinition(body, definition), (lease) => assertCanInsert(lease, suffix));
  });

  app.post('/api/chat', async (request, reply) => {
    refuseUnsupported(request.body, ollamaUnsupported);
    const req = parseBody(chatBody, request.body);
    if (req.messages.length === 0) return loadOrUnload(request, reply, req.model, req.keep_alive, 'chat');
    const messages = ollamaMessages(req.messages);
    const tools = toolsOf(req.tools, undefined);
    const definition = await definitionOf(ctx, req.model);
    const sampling = samplingFromOptions(optionsUnder(definition, req.options), ctx.config.server.maxTokens);
    const body: GenerateRequest = { kind: 'chat', messages, ...tools, ...sampling, format: ollamaFormat(req.format), logprobs: chatLogprobs(req) };
    return run(request, reply, req, 'chat', withDefinition(body, definition), (lease) => assertCanCallTools(lease, tools.toolChoice, definition?.template));
  });

  async function run(
    request: FastifyRequest,
    reply: FastifyReply,
    req: { model: string; keep_alive?: string | number | null | undefined; stream: boolean },
    kind: 'generate' | 'chat',
    body: GenerateRequest,
    check?: (lease: Lease) => void,
  ) {
    const { lease, signal, startedAt, loadedAt } = await startGeneration(ctx, request, reply, req.model, req.keep_alive, check);
    const generation = { ...body, signal };
    const piece = (text: string, calls: readonly ToolCall[] = []) =>
      kind === 'chat' ? { message: { role: 'assistant', content: text, ...(calls.length > 0 ? { tool_calls: calls.map((c) => ({ function: { name: c.name, arguments: c.arguments } })) } : {}) } } : { response: text };
    const head = () => ({ model: req.model, created_at: new Date().toISOString() });
    // Log-probabilities come whole with the last message (the runtime reports them as the answer ends).
    const logprobs = (t: GenerationTimings) => (body.logprobs === undefined ? {} : { logprobs: ollamaLogprobsBody(t.logprobs) });
    if (!req.stream) {
      const { text, timings } = await collectText(generate(ctx, lease, generation, startedAt, loadedAt));
      return { ...head(), ...piece(text, timings.toolCalls), ...logprobs(timings), ...final(timings) };
    }
    const stream = openStream(request, reply, 'ndjson', signal);
    try {
      const steps = generate(ctx, lease, generation, startedAt, loadedAt);
      let step = await steps.next();
      while (!step.done) {
        stream.send({ ...head(), ...piece(step.value), done: false });
        step = await steps.next();
      }
      // Ollama streams the calls in a message of their own before the last one.
      if (step.value.toolCalls.length > 0) stream.send({ ...head(), ...piece('', step.value.toolCalls), done: false });
      stream.send({ ...head(), ...piece(''), ...logprobs(step.value), ...final(step.value) });
      stream.end();
    } catch (error) {
      stream.end(error);
    }
    return reply;
  }

  /**
   * Ollama's load (empty prompt) and unload (keep_alive 0). A preloaded model
   * is the operator's: a client's unload is refused with MODEL_PINNED rather
   * than leaving /ready at 503 until a later request reloads it.
   */
  async function loadOrUnload(request: FastifyRequest, reply: FastifyReply, model: string, keepAlive: string | number | null | undefined, kind: 'generate' | 'chat') {
    const unload = keepAlive === 0 || keepAlive === '0' || keepAlive === '0s';
    const signal = ctx.inflight.signal(request, reply);
    if (unload) {
      await ctx.access.named(model, async (ref) => {
        ctx.access.assertNotPinned(ref, 'unload');
        await ctx.pool.unload(ref);
      });
    } else (await ctx.access.lease(model, { keepAlive, signal })).release();
    const empty = kind === 'chat' ? { message: { role: 'assistant', content: '' } } : { response: '' };
    return { model, created_at: new Date().toISOString(), ...empty, done: true, done_reason: unload ? 'unload' : 'load' };
  }
}

/**
 * Ollama's messages: its tool calls have no ids, and a tool message answers
 * the earliest call before it that has no answer yet (or, with `tool_name`,
 * the earliest such call of that tool). Ids are given here so the history
 * pairs each result with its call; a tool message with no call left to
 * answer is a 400 naming it.
 */
function ollamaMessages(messages: z.output<typeof chatBody>['messages']): ChatMessage[] {
  const open: ToolCall[] = [];
  return messages.map((m, i): ChatMessage => {
    if (m.role === 'assistant' && m.tool_calls) {
      const toolCalls = m.tool_calls.map((c, j) => ({ id: `call_${i}_${j}`, name: c.function.name, arguments: c.function.arguments }));
      open.push(...toolCalls);
      return { role: 'assistant', content: m.content, toolCalls };
    }
    if (m.role !== 'tool') return { role: m.role, content: m.content };
    const at = open.findIndex((c) => m.tool_name === undefined || c.name === m.tool_name);
    if (at < 0) throw new HearthError('USAGE', `invalid request: messages.${i}: a tool message answers no call of an earlier assistant message${m.tool_name ? ` to "${m.tool_name}"` : ''}`, { details: { field: `messages.${i}` } });
    const [call] = open.splice(at, 1);
    return { role: 'tool', content: m.content, toolCallId: call!.id };
  });
}

function final(t: GenerationTimings) {
  return {
    done: true,
    // Ollama ends a turn with calls as "stop".
    done_reason: t.stopReason === 'length' ? 'length' : 'stop',
    total_duration: t.totalNs,
    load_duration: t.loadNs,
    prompt_eval_count: t.promptTokens,
    prompt_eval_duration: Math.max(0, t.totalNs - t.loadNs - t.evalNs),
    eval_count: t.completionTokens,
    eval_duration: t.evalNs,
  };
}
