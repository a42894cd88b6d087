import { loadConfig, type Config } from '../config/index.js';
import { createLogger, type Logger } from '../log/logger.js';
import { createStore, type Store } from '../store/index.js';

/** What every command gets: config read once, one logger, and factories for the heavy parts. */
export interface CliContext {
  config: Readonly<Config>;
  logger: Logger;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  /** The shared store, created on first use and disposed when the command ends. */
  store(): Store;
  dispose(): Promise<void>;
}

export function createCliContext(env: NodeJS.ProcessEnv = process.env): CliContext {
  const config = loadConfig(env);
  // The CLI is quiet unless asked: warnings and errors only, on stderr.
  const logger = createLogger(env.HEARTH_LOG_LEVEL ? config.logLevel : 'warn');
  let store: Store | undefined;
  return {
    config,
    logger,
    stdout: process.stdout,
    stderr: process.stderr,
    store: () => (store ??= createStore({ config, logger })),
    dispose: async () => {
      await store?.dispose();
    },
  };
}
