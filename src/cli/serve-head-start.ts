import { loadConfig, type Config } from '../config/index.js';
import { createLogger } from '../log/logger.js';
import { ENGINE_FORMATS, hasFormat } from '../runtime/engine-formats.js';
import { llamaRuntimeSettings, offerHeadStart } from '../runtime/llama/head-start.js';
import { tryParseRef } from '../store/ref.js';

/**
 * `hearth serve`'s head start for llama.cpp, run by bin/hearth.js before the
 * CLI's own modules load. On Linux, node-llama-cpp's getLlama() checks its
 * prebuilt binary in a Node subprocess at every start (~0.4 s on 2 vCPUs).
 * Started here, that check runs beside the CLI's, the store's and Fastify's
 * imports instead of after the first two: /ready came ~100 ms sooner with a
 * GGUF preload (BENCHMARKS.md, S1).
 *
 * It starts only for a preload whose reference names a GGUF file, because an
 * ONNX-only server must not pay node-llama-cpp's import (~240 ms). Anything
 * else (an invalid configuration, a name only the store can resolve, help)
 * starts nothing, and the pool then starts llama.cpp when a model needs it, as
 * it always does. The pool takes the runtime only when its settings are the
 * ones used here (head-start.ts); serve disposes one nobody took.
 */
export async function startServeHeadStart(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  const command = argv.slice(2).find((arg) => !arg.startsWith('-'));
  if (command !== 'serve' || argv.some((arg) => arg === '--help' || arg === '-h')) return;
  let config: Readonly<Config>;
  try {
    config = loadConfig(env);
  } catch {
    return; // the CLI reports it, with its exit code
  }
  if (!config.preload.some((name) => namesGguf(name, config.aliases))) return;
  const { createLlamaRuntime } = await import('../runtime/llama/llama-runtime.js');
  const settings = llamaRuntimeSettings(config);
  // The logger serve itself runs with: llama.cpp's lines from this runtime read as they would from the pool's.
  const logger = createLogger(config.logLevel, process.stderr, { format: config.logFormat });
  offerHeadStart(settings, createLlamaRuntime(settings.device, logger, settings));
}

/** Whether a preload's reference itself names a file that llama.cpp runs; a repo or a bare name needs the store to tell. */
function namesGguf(name: string, aliases: Readonly<Record<string, string>>): boolean {
  const ref = tryParseRef(name, aliases);
  const path = ref?.kind === 'hf-file' || ref?.kind === 'local' ? ref.path : ref?.kind === 'url' ? new URL(ref.url).pathname : undefined;
  return path !== undefined && hasFormat({ primary: { path, localPath: path }, files: [{ path }] }, ENGINE_FORMATS.llama);
}
