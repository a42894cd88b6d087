import { loadConfig } from '../../src/config/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { LlamaBackend } from '../../src/runtime/llama/llama-backend.js';
import { createStore } from '../../src/store/index.js';
import { childMain } from './child-io.js';

/**
 * V1's worker: hearth's llama.cpp backend with `pool.cpuVariant` set (auto or a pinned variant),
 * since a variant is chosen once per process. One text per call on `threads` threads, for a time
 * window after one warm-up call; the first `keepVectors` texts' vectors come back for cosines.
 */
export interface VariantEmbedInput {
  model: string;
  variant: string;
  home: string;
  threads: number;
  texts: string[];
  maxTexts: number;
  timeLimitMs: number;
  keepVectors: number;
}

export interface VariantEmbedOutput {
  /** What the runtime identity reports as loaded. */
  cpuVariant: string | null;
  rate: number;
  texts: number;
  elapsedMs: number;
  vectors: number[][];
}

childMain<VariantEmbedInput, VariantEmbedOutput>(async (input) => {
  const config = loadConfig({ HEARTH_HOME: input.home, HF_HUB_CACHE: `${input.home}/hub`, HF_HOME: `${input.home}/hf`, HEARTH_OFFLINE: '1' });
  const store = createStore({ config });
  const backend = new LlamaBackend({ device: 'cpu', logger: silentLogger, cpuVariant: input.variant });
  try {
    const model = await backend.load(await store.resolve(input.model), { threads: input.threads, parallel: 1 });
    const vectors = (await model.embed(input.texts.slice(0, input.keepVectors))).vectors.map((v) => Array.from(v));
    let next = 0;
    const take = () => input.texts[next++ % input.texts.length]!;
    await model.embed([take()]);
    let done = 0;
    const start = performance.now();
    const deadline = start + input.timeLimitMs;
    while (done < input.maxTexts && performance.now() < deadline) {
      await model.embed([take()]);
      done++;
    }
    const elapsedMs = performance.now() - start;
    const cpuVariant = model.identity.cpuVariant ?? null;
    await model.dispose();
    return { cpuVariant, rate: done / (elapsedMs / 1000), texts: done, elapsedMs, vectors };
  } finally {
    await backend.dispose();
    await store.dispose();
  }
});
