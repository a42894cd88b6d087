import { join } from 'node:path';
import type { Config } from '../config/index.js';
import type { Logger } from '../log/logger.js';
import { bindingVersion, onnxRuntimeVersion } from '../runtime/engine-versions.js';
import { ENGINE_FORMATS } from '../runtime/engine-formats.js';
import { lazyBackend } from '../runtime/lazy-backend.js';
import { llamaRuntimeSettings } from '../runtime/llama/head-start.js';
import { defaultMemoryBudget, machineKey, usableCpus } from '../runtime/machine.js';
import { missingRuntimeEnv } from '../runtime/runtime-env.js';
import type { Backend } from '../runtime/types.js';
import type { Store } from '../store/index.js';
import type { Clock } from './clock.js';
import { ModelPool } from './model-pool.js';
import { Tuner } from './tuner.js';

export interface CreatePoolOptions {
  config: Readonly<Config>;
  store: Store;
  logger: Logger;
  clock?: Clock;
  /** Defaults to llama.cpp (GGUF), ONNX Runtime (encoders) and SpeechBrain speaker repos; tests pass their own. */
  backends?: Backend[];
}

/** Builds the pool from configuration: backends, CPU count from cgroups, memory budget, tuner. */
export function createPool(options: CreatePoolOptions): ModelPool {
  const { config, logger } = options;
  const cpus = usableCpus();
  const missing = missingRuntimeEnv(process.env);
  if (Object.keys(missing).length > 0) {
    logger.warn({ missing }, 'inference runs slower without these variables set when node starts (the hearth CLI sets them itself)');
  }
  const backends = options.backends ?? [
    lazyBackend('llama.cpp', ENGINE_FORMATS.llama, async () => {
      const { LlamaBackend } = await import('../runtime/llama/llama-backend.js');
      return new LlamaBackend({ ...llamaRuntimeSettings(config), logger });
    }),
    lazyBackend('speaker', ENGINE_FORMATS.speaker, async () => {
      const { SpeakerBackend } = await import('../runtime/audio/speaker-backend.js');
      return new SpeakerBackend({ logger, maxRows: config.pool.encoderBatchRows });
    }),
    lazyBackend('onnxruntime', ENGINE_FORMATS.onnx, async () => {
      const { OnnxBackend } = await import('../runtime/onnx/onnx-backend.js');
      return new OnnxBackend({ logger, batch: { maxTokens: config.pool.encoderBatchTokens, maxRows: config.pool.encoderBatchRows } });
    }),
  ];
  const tuner = new Tuner({
    dir: join(config.home, 'tuning'),
    cpus,
    numParallel: config.pool.numParallel,
    budgetMs: config.pool.tuneBudget,
    machine: tuningMachineKey(config),
    logger,
  });
  return new ModelPool({
    store: options.store,
    backends,
    logger,
    tuner,
    ...(options.clock ? { clock: options.clock } : {}),
    config: {
      maxLoaded: config.pool.maxLoaded,
      memoryBudget: config.pool.memoryBudget ?? defaultMemoryBudget(),
      keepAlive: { defaultMs: config.pool.keepAlive, maxMs: config.pool.maxKeepAlive },
      threads: config.pool.threads,
      numParallel: config.pool.numParallel,
      contextSize: config.pool.contextSize,
      loadWaitMs: config.pool.loadWait,
      cpus,
    },
  });
}

/** "This machine" for stored tuning results. A pinned CPU variant runs other kernels, so its best thread counts are measured apart (auto keeps the key it always had). */
export function tuningMachineKey(config: Readonly<Config>): string {
  const variant = config.pool.cpuVariant === 'auto' ? '' : `+cpu:${config.pool.cpuVariant}`;
  return machineKey(`node-llama-cpp@${bindingVersion()}+onnxruntime-node@${onnxRuntimeVersion()}${variant}`);
}
