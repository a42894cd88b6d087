import type { FastifyInstance } from 'fastify';
import type { Store } from '../../store/index.js';
import type { ModelRegistry } from '../model-registry.js';

/** /health is served from memory only: it must answer while models pull or load. */
export function healthRoutes(app: FastifyInstance, deps: { store: Store; models: ModelRegistry }): void {
  app.get('/health', async () => {
    const models = deps.models.list();
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
