import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ModelInfo } from '../../../runtime/types.js';
import type { PullEvent } from '../../../store/index.js';
import { hasToolFormat } from '../../../runtime/template-facts.js';
import { renderModelfile, renderParameters } from '../../../store/modelfile.js';
import { HEARTH_VERSION } from '../../../version.js';
import { catalog } from '../../catalog.js';
import type { ServerContext } from '../../context.js';
import { parseBody } from '../../request.js';
import { openStream } from '../../streaming.js';

const nameBody = z.object({ model: z.string().min(1).optional(), name: z.string().min(1).optional() }).loose().refine((b) => b.model ?? b.name, 'model is required');
const pullBody = z.object({ model: z.string().min(1).optional(), name: z.string().min(1).optional(), stream: z.boolean().default(true), insecure: z.boolean().optional() }).refine((b) => b.model ?? b.name, 'model is required');

/** Ollama's model management: tags, ps, show, delete, pull, version. */
export function ollamaModels(app: FastifyInstance, ctx: ServerContext): void {
  app.get('/api/version', async () => ({ version: HEARTH_VERSION }));

  // GGUF headers do not change for a digest; read each once.
  const detailsByDigest = new Map<string, ReturnType<typeof details>>();
  const detailsOf = async (name: string, digest: string | undefined) => {
    if (!digest) return details(undefined);
    if (!detailsByDigest.has(digest)) {
      const info = await ctx.access.named(name, (ref) => ctx.pool.inspect(ref)).then((r) => r.info, () => undefined);
      detailsByDigest.set(digest, details(info));
    }
    return detailsByDigest.get(digest)!;
  };

  app.get('/api/tags', async () => ({
    models: await Promise.all(
      (await catalog(ctx)).map(async (m) => ({
        name: m.name,
        model: m.name,
        modified_at: m.modifiedAt,
        size: m.size,
        digest: m.digest ?? '',
        details: { ...(await detailsOf(m.name, m.digest)), format: m.format },
      })),
    ),
  }));

  app.get('/api/ps', async () => ({
    models: ctx.pool
      .list()
      .filter((m) => m.loaded)
      .map((m) => ({
        name: ctx.access.names.display(m.ref),
        model: ctx.access.names.display(m.ref),
        size: m.sizeBytes ?? m.fileBytes ?? 0,
        digest: m.digest ?? '',
        details: details(m.info),
        // A model that never expires shows a far-future time, as Ollama does.
        expires_at: m.expiresAt ?? '2318-08-23T00:00:00Z',
        size_vram: m.device && m.device !== 'cpu' ? (m.sizeBytes ?? 0) : 0,
        context_length: m.identity?.contextSize,
        runtime: m.identity,
      })),
  }));

  app.post('/api/show', async (request, reply) => {
    const req = parseBody(nameBody, request.body);
    const name = (req.model ?? req.name)!;
    const signal = ctx.inflight.signal(request, reply);
    const { definition, info } = await ctx.access.named(name, async (ref) => ({ definition: ctx.store.definition(ref), info: (await ctx.pool.inspect(ref, signal)).info }));
    const template = definition?.template ?? info.chatTemplate;
    const capabilities = info.capabilities.filter((c) => c !== 'tools' || !definition?.template).map((c) => (c === 'generation' ? 'completion' : c));
    if (definition?.template && info.capabilities.includes('generation') && hasToolFormat(template)) capabilities.push('tools');
    const parent = definition ? ctx.access.names.display(definition.from) : undefined;
    return {
      license: definition?.license ?? '',
      modelfile: renderModelfile(parent ?? ctx.access.names.display(await ctx.access.resolve(name)), { template, system: definition?.system, license: definition?.license, parameters: definition?.parameters }),
      parameters: renderParameters(definition?.parameters ?? { stop: undefined }),
      template: template ?? '',
      system: definition?.system ?? '',
      details: { ...details(info), parent_model: parent ?? '' },
      model_info: {
        'general.architecture': info.architecture,
        'general.parameter_count': info.parameters ?? 0,
        [`${info.architecture}.context_length`]: info.trainContextSize,
      },
      capabilities,
      modified_at: definition?.createdAt ?? new Date().toISOString(),
    };
  });

  app.delete('/api/delete', async (request) => {
    const req = parseBody(nameBody, request.body);
    const name = (req.model ?? req.name)!;
    await ctx.access.named(name, async (ref) => {
      // A definition is only a name over a model: deleting it leaves the model, and its warm copy, alone.
      if (ctx.store.definition(ref)) {
        await ctx.store.remove(ref);
        ctx.pool.forget(ref);
        return;
      }
      ctx.access.assertNotPinned(ref, 'delete');
      await ctx.pool.unload(ref);
      await ctx.store.remove(ref);
    });
    ctx.access.names.invalidate();
    return {};
  });

  app.post('/api/pull', async (request, reply) => {
    const req = parseBody(pullBody, request.body);
    const name = await ctx.access.resolve((req.model ?? req.name)!);
    const signal = ctx.inflight.signal(request, reply);
    if (!req.stream) {
      await ctx.store.pull(name, { signal }).then(
        () => {
          ctx.metrics.pulls.inc({ outcome: 'success' });
          ctx.access.names.invalidate();
        },
        (error: unknown) => {
          ctx.metrics.pulls.inc({ outcome: 'failure' });
          throw error;
        },
      );
      return { status: 'success' };
    }
    const stream = openStream(request, reply, 'ndjson', signal);
    stream.send({ status: 'pulling manifest' });
    try {
      await ctx.store.pull(name, { signal, onProgress: (event) => sendProgress(event, stream.send) });
      ctx.metrics.pulls.inc({ outcome: 'success' });
      ctx.access.names.invalidate();
      stream.send({ status: 'success' });
      stream.end();
    } catch (error) {
      ctx.metrics.pulls.inc({ outcome: 'failure' });
      stream.end(error);
    }
    return reply;
  });
}

/** Store progress in Ollama's pull-stream vocabulary. */
function sendProgress(event: PullEvent, send: (value: unknown) => void): void {
  switch (event.status) {
    case 'downloading':
      send({ status: `pulling ${event.digest.slice(0, 12)}`, digest: `sha256:${event.digest}`, total: event.total, completed: event.completed });
      break;
    case 'cached':
      send({ status: `pulling ${(event.digest ?? '').slice(0, 12)}`, digest: event.digest ? `sha256:${event.digest}` : undefined, total: event.total, completed: event.total });
      break;
    case 'downloaded':
      send({ status: 'verifying sha256 digest' });
      break;
    case 'waiting':
      send({ status: `waiting for another download of ${event.file}` });
      break;
    case 'success':
      send({ status: 'writing manifest' });
      break;
  }
}

function details(info: ModelInfo | undefined) {
  return {
    parent_model: '',
    format: info?.format ?? '',
    family: info?.architecture ?? '',
    families: info ? [info.architecture] : null,
    parameter_size: info?.parameters ? formatParameters(info.parameters) : '',
    quantization_level: info?.quantization ?? '',
  };
}

function formatParameters(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  return `${(n / 1e3).toFixed(0)}K`;
}
