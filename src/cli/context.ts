import { loadConfig, type Config } from '../config/index.js';
import { createLogger, type Logger } from '../log/logger.js';
import type { ModelPool } from '../pool/model-pool.js';
import type { Memory } from '../memory/memory.js';
import type { Spaces } from '../spaces/index.js';
import { createStore, type Store } from '../store/index.js';

/** What every command gets: config read once, one logger, and factories for the heavy parts. */
export interface CliContext {
  config: Readonly<Config>;
  logger: Logger;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  /** The shared store, created on first use and disposed when the command ends. */
  store(): Store;
  /** The model pool, created on first use (loading node-llama-cpp only then). */
  pool(): Promise<ModelPool>;
  /** Embedding spaces over the pool, created on first use. */
  spaces(): Promise<Spaces>;
  /** Vector memory: the configured database (opened and migrated on first use) and the spaces. */
  memory(): Promise<Memory>;
  dispose(): Promise<void>;
}

export function createCliContext(env: NodeJS.ProcessEnv = process.env): CliContext {
  const config = loadConfig(env);
  // The CLI is quiet unless asked: warnings and errors only, on stderr (serve raises its own level to the configured one).
  // Readable lines at a terminal, JSON lines into a pipe or a file, unless HEARTH_LOG_FORMAT says otherwise.
  const logger = createLogger(env.HEARTH_LOG_LEVEL ? config.logLevel : 'warn', process.stderr, { format: config.logFormat });
  let store: Store | undefined;
  let pool: Promise<ModelPool> | undefined;
  let spaces: Promise<Spaces> | undefined;
  let memory: Promise<Memory> | undefined;
  const getStore = () => (store ??= createStore({ config, logger }));
  const getSpaces = () =>
    (spaces ??= import('../spaces/index.js').then(({ createSpaces }) =>
      createSpaces({ home: config.home, logger, acquire: async (ref, options) => (await getPool()).acquire(ref, options) }),
    ));
  const getPool = () => (pool ??= import('../pool/create-pool.js').then(({ createPool }) => createPool({ config, store: getStore(), logger })));
  return {
    config,
    logger,
    stdout: process.stdout,
    stderr: process.stderr,
    store: getStore,
    pool: getPool,
    spaces: getSpaces,
    memory: () =>
      (memory ??= Promise.all([import('../memory/open-engine.js'), import('../memory/memory.js'), getSpaces()]).then(async ([{ openMemoryEngine }, { createMemory }, spaces]) =>
        // A CLI command ends with its process: an index it starts is built before the command returns.
        createMemory({ engine: await openMemoryEngine(config, logger), spaces, logger, index: config.memory.index, indexInBackground: false }),
      )),
    dispose: async () => {
      // A pool that failed to start was reported by the command that asked for it; it has nothing to dispose.
      await (await memory?.catch(() => undefined))?.engine.close();
      await (await pool?.catch(() => undefined))?.dispose();
      await store?.dispose();
    },
  };
}
