import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { publicMessage } from '../redact.js';

/**
 * /health is served from memory only: it must answer while models pull,
 * load or run, and it must never fail; a view it cannot describe is left out
 * rather than turned into a 500.
 */
export function healthRoutes(app: FastifyInstance, ctx: Pick<ServerContext, 'store' | 'pool' | 'access' | 'logger'>): void {
  app.get('/health', async () => {
    const models = ctx.pool.list().flatMap((m) => {
      try {
        return [
          {
            name: ctx.access.names.display(m.ref),
            state: m.state,
            cached: m.cached,
            loaded: m.loaded,
            device: m.device ?? null,
            expires_at: m.expiresAt,
            ...(m.error ? { error: publicMessage(m.error) } : {}),
          },
        ];
      } catch (error) {
        ctx.logger.error({ err: (error as Error).message, model: m.ref }, 'health: cannot describe a model');
        return [];
      }
    });
    const first = models[0];
    return {
      status: models.some((m) => m.state === 'failed') ? 'degraded' : 'ok',
      model_loaded: first?.loaded ?? false,
      model_cached: first?.cached ?? false,
      device: first?.device ?? null,
      model_name: first?.name ?? null,
      offline_mode: ctx.store.offline,
      cache_dir: ctx.store.hubCache,
      models,
    };
  });
}
