import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { BatchOutcome } from '../jobs/ingest/ingest-queue.js';
import type { ModelPool } from '../pool/model-pool.js';
import type { BatchStats } from '../runtime/types.js';

/** Prometheus metrics for one server; a private registry, so tests and embedders can run several. */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({ name: 'hearth_http_requests_total', help: 'HTTP requests by route, method, status and model', labelNames: ['route', 'method', 'status', 'model'], registers: [this.registry] });
  readonly latency = new Histogram({
    name: 'hearth_http_request_duration_seconds',
    help: 'HTTP request latency by route and model',
    labelNames: ['route', 'model'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({ name: 'hearth_queue_depth', help: 'Requests queued or running per model', labelNames: ['model'], registers: [this.registry] });
  readonly batchSize = new Histogram({ name: 'hearth_embedding_batch_size', help: 'Sequences per embedding inference batch, as the engine ran it', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512], registers: [this.registry] });
  readonly batchTokens = new Counter({ name: 'hearth_embedding_batch_tokens_total', help: 'Tokens computed in embedding batches: real ones, and padding', labelNames: ['kind'], registers: [this.registry] });
  readonly tokens = new Counter({ name: 'hearth_generated_tokens_total', help: 'Tokens generated per model', labelNames: ['model'], registers: [this.registry] });
  readonly tokensPerSecond = new Histogram({ name: 'hearth_generation_tokens_per_second', help: 'Generation speed per request', labelNames: ['model'], buckets: [1, 5, 10, 25, 50, 100, 200, 400, 800, 1600], registers: [this.registry] });
  readonly embeddedInputs = new Counter({ name: 'hearth_embedded_inputs_total', help: 'Inputs embedded per model', labelNames: ['model'], registers: [this.registry] });
  readonly ingestFiles = new Counter({ name: 'hearth_ingest_files_total', help: 'Files ingested by collection and outcome (read, or dead: kept as a dead letter)', labelNames: ['collection', 'outcome'], registers: [this.registry] });
  readonly ingestDocuments = new Counter({ name: 'hearth_ingest_documents_total', help: 'Documents ingested by collection and outcome (added, or unchanged: already stored, nothing embedded)', labelNames: ['collection', 'outcome'], registers: [this.registry] });
  readonly ingestChunks = new Counter({ name: 'hearth_ingest_chunks_total', help: 'Chunks embedded and written by ingestion', labelNames: ['collection'], registers: [this.registry] });
  readonly pulls = new Counter({ name: 'hearth_pulls_total', help: 'Pulls through the API by outcome', labelNames: ['outcome'], registers: [this.registry] });

  /** Counts one unit of ingestion work this process did. */
  readonly onIngested = (collection: string, outcome: BatchOutcome): void => {
    this.ingestFiles.inc({ collection, outcome: 'read' }, outcome.files - outcome.dead);
    this.ingestFiles.inc({ collection, outcome: 'dead' }, outcome.dead);
    this.ingestDocuments.inc({ collection, outcome: 'added' }, outcome.added);
    this.ingestDocuments.inc({ collection, outcome: 'unchanged' }, outcome.unchanged);
    this.ingestChunks.inc({ collection }, outcome.chunks);
  };

  readonly #pool: ModelPool;
  readonly #onBatch = (batch: BatchStats) => {
    this.batchSize.observe(batch.rows);
    this.batchTokens.inc({ kind: 'real' }, batch.tokens);
    this.batchTokens.inc({ kind: 'padding' }, batch.paddedTokens - batch.tokens);
  };

  constructor(pool: ModelPool) {
    this.#pool = pool;
    pool.events.on('batch', this.#onBatch);
    collectDefaultMetrics({ register: this.registry, prefix: 'hearth_process_' });
    // Pool gauges are computed at scrape time from the pool's in-memory view.
    const registry = this.registry;
    new Gauge({ name: 'hearth_models_loaded', help: 'Models in memory and ready', registers: [registry], collect() {
      this.set(pool.list().filter((m) => m.loaded).length);
    } });
    new Gauge({ name: 'hearth_model_load_seconds', help: 'Last load time per model', labelNames: ['model'], registers: [registry], collect() {
      for (const m of pool.list()) if (m.loadMs !== undefined) this.set({ model: m.name }, m.loadMs / 1000);
    } });
    new Gauge({ name: 'hearth_model_warm_seconds', help: 'Last warm-up (tuning and one inference) time per model', labelNames: ['model'], registers: [registry], collect() {
      for (const m of pool.list()) if (m.warmMs !== undefined) this.set({ model: m.name }, m.warmMs / 1000);
    } });
  }

  /** Stops listening to the pool, which may outlive this server. Idempotent. */
  dispose(): void {
    this.#pool.events.off('batch', this.#onBatch);
  }
}
