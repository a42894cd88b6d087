import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { HearthError } from '../../../errors/index.js';
import { defineModel } from '../../../pool/define-model.js';
import { definitionName, modelParameters, type DefinitionSettings } from '../../../store/index.js';
import { parseModelfile } from '../../../store/modelfile.js';
import type { ServerContext } from '../../context.js';
import { nonEmpty, parseBody, refuseUnsupported } from '../../request.js';
import { openStream } from '../../streaming.js';

const createBody = z
  .object({
    model: z.string().min(1).optional(),
    /** Ollama's older name for `model`. */
    name: z.string().min(1).optional(),
    from: z.string().min(1).optional(),
    /** Ollama's older form: the whole definition as Modelfile text. */
    modelfile: z.string().optional(),
    template: z.string().min(1).optional(),
    system: z.string().optional(),
    license: z.union([z.string(), z.array(z.string())]).optional(),
    parameters: modelParameters.optional(),
    stream: z.boolean().default(true),
  })
  .refine((b) => b.model ?? b.name, { message: 'model is required', path: ['model'] });

const copyBody = z.object({ source: z.string().min(1), destination: z.string().min(1) });

/** What Ollama's create takes that hearth cannot do; each a 400 naming it rather than a model made without it. */
const createUnsupported = { files: nonEmpty, adapters: nonEmpty, quantize: nonEmpty, messages: nonEmpty };

/**
 * Ollama's `/api/create` and `/api/copy`: model definitions, names with a
 * template, a system prompt and parameters of their own over a model in the
 * store. A definition is settings, never bytes: it shares the model's files
 * and its warm copy in the pool.
 */
export function ollamaDefinitions(app: FastifyInstance, ctx: ServerContext): void {
  app.post('/api/create', async (request, reply) => {
    refuseUnsupported(request.body, createUnsupported);
    const req = parseBody(createBody, request.body);
    const name = (req.model ?? req.name)!;
    // Checked before anything else, so a streamed create never opens for a name that cannot be stored.
    definitionName(name);
    const file = req.modelfile !== undefined ? parseModelfile(req.modelfile) : undefined;
    const from = req.from ?? file?.from;
    if (from === undefined) {
      throw new HearthError('USAGE', 'invalid request: from: name the model to make this one from (a stored model, a definition, or a hub reference)', {
        details: { field: 'from' },
        hint: 'a local GGUF is registered first with `hearth pull /path/to/model.gguf`, or made in one step with `hearth create NAME -f Modelfile`',
      });
    }
    const parameters = { ...(file ? parseBody(modelParameters, file.parameters, 'modelfile PARAMETER') : {}), ...req.parameters };
    const template = req.template ?? file?.template;
    const license = Array.isArray(req.license) ? req.license.join('\n') : (req.license ?? file?.license);
    const settings = { template, system: req.system ?? file?.system, license, parameters };
    const signal = ctx.inflight.signal(request, reply);
    if (!req.stream) {
      await define(name, from, settings, signal);
      return { status: 'success' };
    }
    const stream = openStream(request, reply, 'ndjson', signal);
    try {
      stream.send({ status: `using existing model ${from}` });
      await define(name, from, settings, signal);
      stream.send({ status: 'writing manifest' });
      stream.send({ status: 'success' });
      stream.end();
    } catch (error) {
      stream.end(error);
    }
    return reply;
  });

  app.post('/api/copy', async (request, reply) => {
    const req = parseBody(copyBody, request.body);
    definitionName(req.destination, 'destination');
    await define(req.destination, req.source, {}, ctx.inflight.signal(request, reply), 'destination');
    return reply.code(200).send();
  });

  /** Stores `name` over `from`, which must name a model in the store (or a definition); the name then stands for it at once. */
  async function define(name: string, from: string, settings: DefinitionSettings, signal: AbortSignal, field = 'model'): Promise<void> {
    // A definition needs no look at the files; a model must be in the store (a 404 naming it otherwise).
    const resolved = await ctx.access.named(from, async (ref) => {
      if (!ctx.store.definition(ref)) await ctx.pool.inspect(ref, signal);
      return ref;
    });
    const definition = await defineModel(ctx.store, name, resolved, settings, field);
    ctx.pool.forget(definition.name);
    ctx.access.names.invalidate();
  }
}
