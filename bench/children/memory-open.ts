import { childMain } from './child-io.js';
import type { MemoryTarget } from './memory-common.js';

/**
 * M1's cold open: a fresh process that opens a filled store and answers one
 * query by vector through hearth's memory, as a CLI command or a server's
 * first request would: configuration, the engine (PGlite, its folder lock,
 * the schema check) and memory.query at the default ef_search. Timed from
 * before hearth's modules are imported (from src/ through tsx, or the built
 * dist/ with --entry dist), so the time includes loading PGlite and
 * pgvector, to the answer; with the process's peak RSS. The time since the
 * process started (Node, and tsx) is reported beside it.
 */
export interface MemoryOpenInput {
  target: MemoryTarget;
  collection: string;
  vector: number[];
  entry: 'src' | 'dist';
}

export interface MemoryOpenResult {
  ms: number;
  importMs: number;
  openMs: number;
  queryMs: number;
  sinceProcessStartMs: number;
  maxRssBytes: number;
  hits: number;
}

type ConfigModule = typeof import('../../src/config/index.js');
type EngineModule = typeof import('../../src/memory/open-engine.js');
type MemoryModule = typeof import('../../src/memory/memory.js');
type SpacesModule = typeof import('../../src/spaces/index.js');
type LoggerModule = typeof import('../../src/log/logger.js');

childMain<MemoryOpenInput, MemoryOpenResult>(async (input) => {
  const root = input.entry === 'dist' ? '../../dist' : '../../src';
  const started = performance.now();
  const [{ loadConfig }, { openMemoryEngine }, { createMemory }, { createSpaces }, { silentLogger }] = (await Promise.all([
    import(`${root}/config/index.js`),
    import(`${root}/memory/open-engine.js`),
    import(`${root}/memory/memory.js`),
    import(`${root}/spaces/index.js`),
    import(`${root}/log/logger.js`),
  ])) as [ConfigModule, EngineModule, MemoryModule, SpacesModule, LoggerModule];
  const imported = performance.now();
  const config = loadConfig({ HEARTH_HOME: input.target.home, HEARTH_OFFLINE: '1', ...(input.target.databaseUrl ? { HEARTH_DATABASE_URL: input.target.databaseUrl } : {}) });
  const spaces = createSpaces({ home: config.home, logger: silentLogger, acquire: () => Promise.reject(new Error('a query by vector loads no model')) });
  const engine = await openMemoryEngine(config, silentLogger);
  const memory = createMemory({ engine, spaces, logger: silentLogger, index: config.memory.index });
  const opened = performance.now();
  try {
    const hits = await memory.query(input.collection, { vector: input.vector, topK: 10 });
    const answered = performance.now();
    return {
      ms: answered - started,
      importMs: imported - started,
      openMs: opened - imported,
      queryMs: answered - opened,
      sinceProcessStartMs: answered,
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
      hits: hits.length,
    };
  } finally {
    await engine.close();
  }
});
