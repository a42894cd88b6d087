import { getLlama, LlamaLogLevel, type Llama } from 'node-llama-cpp';
import { HearthError, isHearthError } from '../../errors/index.js';
import type { Logger } from '../../log/logger.js';
import { bindingVersion } from '../engine-versions.js';
import type { Device, DeviceRequest } from '../types.js';
import { withCpuVariantPin } from './cpu-variant-pin.js';
import { cachedAutoDevice, gpuFingerprint, rememberAutoDevice } from './device-probe.js';
import { assertCpuVariantRunnable, loadedCpuVariants } from './cpu-variants.js';

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

export interface LlamaRuntimeOptions {
  /** `auto` (ggml picks the best for the CPU) or a variant name to pin (portable mode): see cpu-variant-pin.ts. */
  cpuVariant?: string;
  /** Where what `auto` resolved to is kept between starts (device-probe.ts); unset, auto probes every time. */
  probeFile?: string;
}

/**
 * Initialises node-llama-cpp for a device. Only prebuilt binaries are used
 * (`build: 'never'`): compiling at run time is neither fast nor possible offline.
 * llama.cpp's log goes to pino; the line naming the CPU kernel variant is kept,
 * because that variant changes the numbers a model computes.
 */
export async function createLlamaRuntime(device: DeviceRequest, logger: Logger, options: LlamaRuntimeOptions = {}): Promise<LlamaRuntime> {
  const pin = options.cpuVariant !== undefined && options.cpuVariant !== 'auto' ? options.cpuVariant : undefined;
  // Refused before anything is loaded: a variant this CPU lacks the instructions for would die of SIGILL.
  if (pin !== undefined) assertCpuVariantRunnable(pin);
  let cpuVariant: string | undefined;
  let llama: Llama;
  try {
    const fingerprint = device === 'auto' && options.probeFile !== undefined ? gpuFingerprint(bindingVersion()) : undefined;
    const cached = fingerprint !== undefined ? await cachedAutoDevice(options.probeFile!, fingerprint) : undefined;
    const initialise = (request: DeviceRequest = cached ?? device) => getLlama({
      gpu: request === 'auto' ? 'auto' : request === 'cpu' ? false : request,
      build: 'never',
      // With gpu "auto", node-llama-cpp tests each prebuilt GPU binary and writes to the console when one cannot run
      // here ("falling back to using no GPU"); hearth reports the device it got instead (identity, /health).
      progressLogs: false,
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
    // What auto found last time, asked for directly. If that fails, or node-llama-cpp falls back to
    // another device, the GPU stack changed under the same fingerprint: auto probes again.
    const resolve = async (): Promise<Llama> => {
      if (cached === undefined) return initialise();
      logger.debug({ device: cached }, 'HEARTH_DEVICE=auto: using the device found at an earlier start');
      const direct = await initialise().catch((error: unknown) => error as Error);
      const got = direct instanceof Error ? undefined : direct.gpu === false ? 'cpu' : direct.gpu;
      if (got === cached) return direct as Llama;
      logger.warn({ device: cached, err: direct instanceof Error ? direct.message : undefined, got }, 'the device HEARTH_DEVICE=auto found at an earlier start no longer starts; probing again');
      if (!(direct instanceof Error)) await direct.dispose();
      return initialise('auto');
    };
    // Once this process has a CPU variant, getLlama() loads no backend again and the pin changes nothing.
    llama = pin !== undefined ? await withCpuVariantPin(pin, resolve) : await resolve();
    if (fingerprint !== undefined) {
      const found: Device = llama.gpu === false ? 'cpu' : llama.gpu;
      if (found !== cached) await rememberAutoDevice(options.probeFile!, fingerprint, found);
    }
  } catch (error) {
    if (isHearthError(error)) throw error;
    throw new HearthError('DEVICE_UNAVAILABLE', `cannot initialise llama.cpp for device "${device}": ${(error as Error).message}`, {
      cause: error,
      hint: device === 'auto' || device === 'cpu' ? undefined : 'set HEARTH_DEVICE=auto or cpu',
    });
  }
  if (pin !== undefined) await assertPinned(pin, llama);
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
  return loadedCpuVariants()?.[0];
}

/** Defence in depth: the pin is only as good as node-llama-cpp's loading order, so what is mapped is checked. */
async function assertPinned(pin: string, llama: Llama): Promise<void> {
  const loaded = loadedCpuVariants() ?? [];
  if (loaded.length === 1 && loaded[0] === pin) return;
  await llama.dispose().catch(() => undefined);
  throw new HearthError('CPU_VARIANT_UNSUPPORTED', `llama.cpp was pinned to the "${pin}" CPU kernels but this process has ${loaded.length === 0 ? 'none' : `"${loaded.join('", "')}"`} loaded`, {
    details: { variant: pin, loaded },
    hint: 'unset GGML_BACKEND_PATH, or set HEARTH_CPU_VARIANT=auto',
  });
}
