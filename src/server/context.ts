import type { Config } from '../config/index.js';
import type { JobExecutor } from '../jobs/executor.js';
import type { Logger } from '../log/logger.js';
import type { ModelPool } from '../pool/model-pool.js';
import type { Memory } from '../memory/memory.js';
import type { Spaces } from '../spaces/index.js';
import type { Store } from '../store/index.js';
import type { InFlight } from './in-flight.js';
import type { ServerMetrics } from './metrics.js';
import type { ModelAccess } from './model-access.js';

/** Everything a route needs; built once per server. */
export interface ServerContext {
  config: Readonly<Config>;
  store: Store;
  pool: ModelPool;
  logger: Logger;
  access: ModelAccess;
  /** Embedding spaces: records, checks, and the guard on requests that name one. */
  spaces: Spaces;
  /** Vector memory, its database opened on first use (so a server that never uses it never holds it). */
  memory(): Promise<Memory>;
  metrics: ServerMetrics;
  inflight: InFlight;
  /** Enrichment jobs: in this process (unfinished ones resume at the next start), or on BullMQ with HEARTH_REDIS_URL. */
  jobs: JobExecutor;
}
