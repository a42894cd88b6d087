import type { Config } from '../config/index.js';
import type { Logger } from '../log/logger.js';
import type { Memory } from '../memory/memory.js';
import type { Spaces } from '../spaces/index.js';

/**
 * The server's vector memory, opened on the first request that needs it:
 * a server that never serves a collection never loads PGlite or holds its
 * folder, which `hearth memory` on the same machine could then not open.
 * A failed open (MEMORY_LOCKED, an unreachable Postgres) is not kept: the
 * next request tries again.
 */
export function lazyMemory(config: Readonly<Config>, spaces: Spaces, logger: Logger): { get: () => Promise<Memory>; close: () => Promise<void> } {
  let opening: Promise<Memory> | undefined;
  return {
    get: () =>
      (opening ??= (async () => {
        const [{ openMemoryEngine }, { createMemory }] = await Promise.all([import('../memory/open-engine.js'), import('../memory/memory.js')]);
        const memory = createMemory({ engine: await openMemoryEngine(config, logger), spaces, logger, index: config.memory.index, indexInBackground: true });
        // Builds a process died in the middle of go on in the background.
        void memory.resumeIndexes();
        return memory;
      })().catch((error: unknown) => {
        opening = undefined;
        throw error;
      })),
    close: async () => {
      const open = opening;
      opening = undefined;
      await (await open?.catch(() => undefined))?.engine.close();
    },
  };
}
