import type { FastifyInstance } from 'fastify';
import type { ModelPool } from '../../pool/model-pool.js';
import type { Store } from '../../store/index.js';

/** /health is served from memory only: it must answer while models pull, load or run. */
export function healthRoutes(app: FastifyInstance, deps: { store: Store; pool: ModelPool }): void {
  app.get('/health', async () => {
    const models = deps.pool.list().map((m) => ({
      name: m.name,
      state: m.state,
      cached: m.cached,
      loaded: m.loaded,
      device: m.device ?? null,
      expires_at: m.expiresAt,
      ...(m.error ? { error: m.error } : {}),
    }));
    const first = models[0];
    return {
      status: models.some((m) => m.state === 'failed') ? 'degraded' : 'ok',
      model_loaded: first?.loaded ?? false,
      model_cached: first?.cached ?? false,
      device: first?.device ?? null,
      model_name: first?.name ?? null,
      offline_mode: deps.store.offline,
      cache_dir: deps.store.hubCache,
      models,
    };
  });
}
