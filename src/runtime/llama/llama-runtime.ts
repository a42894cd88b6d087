import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { getLlama, LlamaLogLevel, type Llama } from 'node-llama-cpp';
import { HearthError } from '../../errors/index.js';
import type { Logger } from '../../log/logger.js';
import type { Device, DeviceRequest } from '../types.js';

/** One initialised llama.cpp binding and what it reports about itself. */
export interface LlamaRuntime {
  llama: Llama;
  device: Device;
  cpuVariant: string | undefined;
  binding: string;
  engineVersion: string;
  dispose(): Promise<void>;
}

const CPU_BACKEND = /loaded CPU backend from .*libggml-cpu-([A-Za-z0-9_]+)\.(so|dll|dylib)/;

/**
 * Initialises node-llama-cpp for a device. Only prebuilt binaries are used
 * (`build: 'never'`): compiling at run time is neither fast nor possible offline.
 * llama.cpp's log goes to pino; the line naming the CPU kernel variant is kept,
 * because that variant changes the numbers a model computes.
 */
export async function createLlamaRuntime(device: DeviceRequest, logger: Logger): Promise<LlamaRuntime> {
  let cpuVariant: string | undefined;
  let llama: Llama;
  try {
    llama = await getLlama({
      gpu: device === 'auto' ? 'auto' : device === 'cpu' ? false : device,
      build: 'never',
      // Debug level would name the CPU variant, but once an instance is disposed node-llama-cpp
      // prints later instances' debug logs to the console; the variant is read from /proc instead.
      logLevel: LlamaLogLevel.warn,
      logger: (level, message) => {
        cpuVariant ??= CPU_BACKEND.exec(message)?.[1];
        const text = message.trimEnd();
        if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) logger.error({ engine: 'llama.cpp' }, text);
        // llama.cpp warns about benign metadata quirks; operators see them at info, CLI users do not.
        else if (level === LlamaLogLevel.warn) logger.info({ engine: 'llama.cpp' }, text);
        else logger.trace({ engine: 'llama.cpp' }, text);
      },
    });
  } catch (error) {
    throw new HearthError('DEVICE_UNAVAILABLE', `cannot initialise llama.cpp for device "${device}": ${(error as Error).message}`, {
      cause: error,
      hint: device === 'auto' || device === 'cpu' ? undefined : 'set HEARTH_DEVICE=auto or cpu',
    });
  }
  const resolvedDevice: Device = llama.gpu === false ? 'cpu' : llama.gpu;
  const release = llama.llamaCppRelease;
  return {
    llama,
    device: resolvedDevice,
    cpuVariant: resolvedDevice === 'cpu' ? (cpuVariant ?? loadedCpuVariant() ?? 'unknown') : undefined,
    binding: `node-llama-cpp@${bindingVersion()}`,
    engineVersion: `${release.repo}@${release.release}`,
    dispose: () => llama.dispose(),
  };
}

/** The CPU backend library ggml mapped into this process names the kernel variant it chose. */
function loadedCpuVariant(): string | undefined {
  try {
    return /libggml-cpu-([A-Za-z0-9_]+)\.so/.exec(readFileSync('/proc/self/maps', 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

export function bindingVersion(): string {
  // The package does not export its package.json; read it next to its entry point.
  const entry = createRequire(import.meta.url).resolve('node-llama-cpp');
  return (JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as { version: string }).version;
}
