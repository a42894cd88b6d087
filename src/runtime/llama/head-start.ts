import { join } from 'node:path';
import type { Config } from '../../config/index.js';
import type { DeviceRequest } from '../types.js';
import type { LlamaRuntime } from './llama-runtime.js';

/** What a llama.cpp runtime is started with: the pool and a head start agree on it. */
export interface LlamaRuntimeSettings {
  device: DeviceRequest;
  /** `auto` (the default), or the ggml CPU kernel variant to pin (pool.cpuVariant). */
  cpuVariant?: string | undefined;
  /** Where what `device: 'auto'` resolved to is kept between starts (device-probe.ts); unset, auto probes every time. */
  probeFile?: string | undefined;
}

/** The settings from the configuration, as the pool and `serve`'s head start both use them. */
export function llamaRuntimeSettings(config: Pick<Config, 'home' | 'pool'>): Required<LlamaRuntimeSettings> {
  return { device: config.pool.device, cpuVariant: config.pool.cpuVariant, probeFile: join(config.home, 'llama-device.json') };
}

/**
 * A llama.cpp runtime started before anything asks for it (src/cli/serve-head-start.ts),
 * held until the first backend with the same settings takes it. This module imports
 * no engine, so that the pool can ask for one without paying for node-llama-cpp.
 */
let offered: { key: string; runtime: Promise<LlamaRuntime> } | undefined;

const keyOf = (settings: LlamaRuntimeSettings) => JSON.stringify([settings.device, settings.cpuVariant ?? 'auto', settings.probeFile ?? null]);

export function offerHeadStart(settings: LlamaRuntimeSettings, runtime: Promise<LlamaRuntime>): void {
  // Taken, its failure reaches the backend that took it; never taken, it is nobody's to report.
  runtime.catch(() => undefined);
  if (offered) void dropHeadStart();
  offered = { key: keyOf(settings), runtime };
}

/** The runtime offered for exactly these settings, once; undefined when there is none. */
export function takeHeadStart(settings: LlamaRuntimeSettings): Promise<LlamaRuntime> | undefined {
  if (offered?.key !== keyOf(settings)) return undefined;
  const { runtime } = offered;
  offered = undefined;
  return runtime;
}

/** Disposes a runtime nobody took (its preload turned out not to need it), so it holds no memory or threads. */
export async function dropHeadStart(): Promise<void> {
  const untaken = offered;
  offered = undefined;
  const runtime = await untaken?.runtime.catch(() => undefined);
  await runtime?.dispose().catch(() => undefined);
}
