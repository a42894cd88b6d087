import type { AddressInfo } from 'node:net';
import { loadConfig, type Config } from '../../src/config/index.js';
import { silentLogger, type Logger } from '../../src/log/logger.js';
import { createPool } from '../../src/pool/create-pool.js';
import type { ModelPool } from '../../src/pool/model-pool.js';
import { createServer, type HearthServer } from '../../src/server/app.js';
import { createStore, type Store } from '../../src/store/index.js';
import { createModelFixtures, type ModelFixtures } from './model-fixtures.js';
import { createSandbox, type Sandbox } from './sandbox.js';

export interface TestServer {
  url: string;
  config: Readonly<Config>;
  store: Store;
  pool: ModelPool;
  server: HearthServer;
  box: Sandbox;
  fixtures: ModelFixtures;
  close(): Promise<void>;
}

/**
 * A real hearth server on 127.0.0.1, port 0, in this process: real store,
 * real pool with both backends, and generated fixture models under the
 * aliases `tiny-llama`, `tiny-llama-tools`, `tiny-llama-fim`, `tiny-bert`, `tiny-bert-cls` and `tiny-onnx` (an ONNX
 * sentence-transformers directory) (plus `stories`
 * when HEARTH_TEST_MODEL is set, and `ecapa`, a SpeechBrain speaker repo, when HEARTH_TEST_ECAPA is). Threads are fixed to skip tuning.
 */
export async function startTestServer(options: { env?: Record<string, string>; endpoint?: string; logger?: Logger } = {}): Promise<TestServer> {
  const fixtures = await createModelFixtures();
  const box = await createSandbox(options.endpoint);
  const aliases: Record<string, string> = { 'tiny-llama': fixtures.llama, 'tiny-llama-tools': fixtures.llamaTools, 'tiny-llama-fim': fixtures.llamaFim, 'tiny-bert': fixtures.bert, 'tiny-bert-cls': fixtures.bertCls, 'tiny-onnx': fixtures.onnxBert };
  if (process.env.HEARTH_TEST_MODEL) aliases.stories = process.env.HEARTH_TEST_MODEL;
  if (process.env.HEARTH_TEST_ECAPA) aliases.ecapa = process.env.HEARTH_TEST_ECAPA;
  const config = loadConfig(box.env({ HEARTH_THREADS: '1', HEARTH_PORT: '0', ...options.env }), { aliases });
  const logger = options.logger ?? silentLogger;
  const store = createStore({ config, logger });
  const pool = createPool({ config, store, logger });
  const server = await createServer({ config, store, pool, logger });
  await server.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = server.app.server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    config,
    store,
    pool,
    server,
    box,
    fixtures,
    close: async () => {
      await server.close();
      await pool.dispose();
      await store.dispose();
      await box.cleanup();
      await fixtures.cleanup();
    },
  };
}

/** Reads the server's embedding batch metrics: batches run, the rows they held, and their real and padding tokens. */
export async function batchStats(server: TestServer): Promise<{ batches: number; rows: number; tokens: number; padding: number }> {
  const metrics = server.server.context.metrics;
  const size = await metrics.batchSize.get();
  const tokens = await metrics.batchTokens.get();
  const histogram = (suffix: string) => size.values.find((v) => v.metricName === `hearth_embedding_batch_size${suffix}`)?.value ?? 0;
  const counter = (kind: string) => tokens.values.find((v) => v.labels.kind === kind)?.value ?? 0;
  return { batches: histogram('_count'), rows: histogram('_sum'), tokens: counter('real'), padding: counter('padding') };
}
