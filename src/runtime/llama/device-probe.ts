import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../store/fs-utils.js';
import type { Device } from '../types.js';

/**
 * What `HEARTH_DEVICE=auto` resolved to on this machine, kept between starts.
 * With `gpu: 'auto'`, node-llama-cpp's getLlama() tests every prebuilt GPU
 * binary (CUDA, then Vulkan) in a subprocess of its own before it settles on
 * the CPU: ~330 ms more to /ready than asking for the CPU directly, on a
 * 2-vCPU machine without a GPU (1.2–1.5 s when that machine is busy). The answer changes only with the GPU stack, so
 * it is keyed by what could change it: node-llama-cpp's version, the GPU
 * device nodes and the variables that hide or pick devices. A GPU that
 * appears adds device nodes, and the next start probes again.
 */
export interface DeviceProbeRecord {
  version: 1;
  fingerprint: string;
  device: Device;
}

const DEVICE_NODES = /^(nvidia|kfd|dri$)/;
const DEVICE_VARIABLES = ['CUDA_VISIBLE_DEVICES', 'NVIDIA_VISIBLE_DEVICES', 'HIP_VISIBLE_DEVICES', 'ROCR_VISIBLE_DEVICES', 'GGML_VK_VISIBLE_DEVICES', 'VK_ICD_FILENAMES', 'LD_LIBRARY_PATH'];

/** What the auto probe's answer depends on, hashed. */
export function gpuFingerprint(bindingVersion: string, env: NodeJS.ProcessEnv = process.env): string {
  const nodes = listDir('/dev').filter((name) => DEVICE_NODES.test(name)).flatMap((name) => (name === 'dri' ? listDir('/dev/dri').map((d) => `dri/${d}`) : [name]));
  const parts = [process.platform, process.arch, bindingVersion, ...nodes.sort(), ...DEVICE_VARIABLES.map((v) => `${v}=${env[v] ?? ''}`)];
  return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 32);
}

/** The device auto resolved to last time, if nothing it depends on has changed since. */
export async function cachedAutoDevice(file: string, fingerprint: string): Promise<Device | undefined> {
  try {
    const record = JSON.parse(await readFile(file, 'utf8')) as Partial<DeviceProbeRecord>;
    const known: readonly Device[] = ['cpu', 'cuda', 'vulkan', 'metal'];
    return record.version === 1 && record.fingerprint === fingerprint && known.includes(record.device as Device) ? record.device : undefined;
  } catch {
    return undefined;
  }
}

/** Keeps what auto resolved to. Best effort: a home that cannot be written costs a probe next start. */
export async function rememberAutoDevice(file: string, fingerprint: string, device: Device): Promise<void> {
  const record: DeviceProbeRecord = { version: 1, fingerprint, device };
  // Not kept (a read-only or full home): the next start probes again.
  await writeFileAtomic(file, JSON.stringify(record)).catch(() => undefined);
}

function listDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}
