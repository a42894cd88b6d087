import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, freemem, totalmem } from 'node:os';

/**
 * CPUs this process may really use: the smaller of the cgroup quota
 * (/sys/fs/cgroup/cpu.max, "max 100000" or "200000 100000") and the
 * scheduler's view (os.availableParallelism, which honours affinity).
 */
export function usableCpus(cpuMaxPath = '/sys/fs/cgroup/cpu.max'): number {
  const parallelism = availableParallelism();
  const quota = readCgroupQuota(cpuMaxPath);
  return Math.max(1, Math.min(parallelism, quota ?? parallelism));
}

export function readCgroupQuota(path: string): number | undefined {
  try {
    const [quota, period] = readFileSync(path, 'utf8').trim().split(/\s+/);
    const cpus = Number(quota) / Number(period);
    if (!Number.isFinite(cpus) || cpus <= 0) return undefined; // "max", or unreadable
    return Math.max(1, Math.floor(cpus));
  } catch {
    return undefined;
  }
}

/** RAM this process may use: the cgroup limit when there is one, else the machine's. */
export function memoryLimitBytes(memoryMaxPath = '/sys/fs/cgroup/memory.max'): number {
  try {
    const text = readFileSync(memoryMaxPath, 'utf8').trim();
    if (text !== 'max' && Number(text) > 0) return Math.min(Number(text), totalmem());
  } catch {
    // no cgroup v2 limit
  }
  return totalmem();
}

/** The default memory budget: most of what is free now, leaving room for the OS and the server. */
export function defaultMemoryBudget(): number {
  return Math.floor(Math.min(memoryLimitBytes(), freemem()) * 0.75);
}

/** Identifies "this machine" for cached tuning results: CPU model, usable cores, and the engine build. */
export function machineKey(engineBuild: string): string {
  const cpu = cpus()[0]?.model ?? 'unknown-cpu';
  return createHash('sha256').update(`${cpu}\0${usableCpus()}\0${engineBuild}`).digest('hex').slice(0, 16);
}
