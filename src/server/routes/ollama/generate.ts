import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Lease } from '../../../pool/model-pool.js';
import type { ChatMessage, GenerateRequest } from '../../../runtime/types.js';
import type { ServerContext } from '../../context.js';
import { assertCanGenerate, collectText, generate, type GenerationTimings } from '../../generation.js';
import { ollamaUnsupported, parseBody, refuseUnsupported } from '../../request.js';
import { openStream, requestSignal } from '../../streaming.js';
import { ollamaCommon, samplingFromOptions } from './options.js';

const generateBody = z.object({
  ...ollamaCommon,
  prompt: z.string().optional(),
  system: z.string().optional(),
  raw: z.boolean().optional(),
  stream: z.boolean().default(true),
});

const chatBody = z.object({
  ...ollamaCommon,
  messages: z.array(z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string() }).loose()).default([]),
  stream: z.boolean().default(true),
});

/** POST /api/generate and /api/chat: NDJSON streams; an empty prompt loads or (keep_alive 0) unloads, as in Ollama. */
export function ollamaGeneration(app: FastifyInstance, ctx: ServerContext): void {
  app.post('/api/generate', async (request, reply) => {
    refuseUnsupported(request.body, ollamaUnsupported);
    const req = parseBody(generateBody, request.body);
    if (!req.prompt) return loadOrUnload(request, reply, req.model, req.keep_alive, 'generate');
    const prompt = req.prompt;
    return run(request, reply, req, 'generate', (lease, signal): GenerateRequest => {
      const sampling = samplingFromOptions(req.options, signal);
      if (req.raw || !lease.model.info.chatTemplate) return { kind: 'completion', prompt: req.system ? `${req.system}\n\n${prompt}` : prompt, ...sampling };
      const messages: ChatMessage[] = [...(req.system ? [{ role: 'system' as const, content: req.system }] : []), { role: 'user', content: prompt }];
      return { kind: 'chat', messages, ...sampling };
    });
  });

  app.post('/api/chat', async (request, reply) => {
    refuseUnsupported(request.body, ollamaUnsupported);
    const req = parseBody(chatBody, request.body);
    if (req.messages.length === 0) return loadOrUnload(request, reply, req.model, req.keep_alive, 'chat');
    const messages = req.messages.map((m) => ({ role: m.role, content: m.content }));
    return run(request, reply, req, 'chat', (_lease, signal) => ({ kind: 'chat', messages, ...samplingFromOptions(req.options, signal) }));
  });

  async function run(
    request: FastifyRequest,
    reply: FastifyReply,
    req: { model: string; keep_alive?: string | number | null | undefined; stream: boolean },
    kind: 'generate' | 'chat',
    build: (lease: Lease, signal: AbortSignal) => GenerateRequest,
  ) {
    const started = performance.now();
    const httpSignal = req.stream ? undefined : requestSignal(request, reply);
    const lease = await ctx.access.lease(req.model, { keepAlive: req.keep_alive, signal: httpSignal });
    assertCanGenerate(lease);
    const loaded = performance.now();
    const piece = (text: string) => (kind === 'chat' ? { message: { role: 'assistant', content: text } } : { response: text });
    const head = () => ({ model: req.model, created_at: new Date().toISOString() });
    if (!req.stream) {
      const { text, timings } = await collectText(generate(ctx, lease, req.model, build(lease, httpSignal!), started, loaded));
      return { ...head(), ...piece(text), ...final(timings) };
    }
    const stream = openStream(request, reply, 'ndjson');
    try {
      const steps = generate(ctx, lease, req.model, build(lease, stream.signal), started, loaded);
      let step = await steps.next();
      while (!step.done) {
        stream.send({ ...head(), ...piece(step.value), done: false });
        step = await steps.next();
      }
      stream.send({ ...head(), ...piece(''), ...final(step.value) });
      stream.end();
    } catch (error) {
      stream.end(error);
    }
    return reply;
  }

  async function loadOrUnload(request: FastifyRequest, reply: FastifyReply, model: string, keepAlive: string | number | null | undefined, kind: 'generate' | 'chat') {
    const unload = keepAlive === 0 || keepAlive === '0' || keepAlive === '0s';
    if (unload) await ctx.pool.unload(model);
    else (await ctx.access.lease(model, { keepAlive, signal: requestSignal(request, reply) })).release();
    const empty = kind === 'chat' ? { message: { role: 'assistant', content: '' } } : { response: '' };
    return { model, created_at: new Date().toISOString(), ...empty, done: true, done_reason: unload ? 'unload' : 'load' };
  }
}

function final(t: GenerationTimings) {
  return {
    done: true,
    done_reason: t.stopReason === 'length' ? 'length' : 'stop',
    total_duration: t.totalNs,
    load_duration: t.loadNs,
    prompt_eval_count: t.promptTokens,
    prompt_eval_duration: Math.max(0, t.totalNs - t.loadNs - t.evalNs),
    eval_count: t.completionTokens,
    eval_duration: t.evalNs,
  };
}
