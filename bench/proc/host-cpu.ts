import { readFileSync } from 'node:fs';

/**
 * The whole host's CPU use from /proc/stat, so a window's figures can say how much of the machine other
 * processes took meanwhile: on a shared machine that, not the code measured, is often what moves a rate.
 */
export interface HostCpu {
  busy: number;
  total: number;
}

/** Undefined where there is no /proc/stat (not Linux). */
export function hostCpu(): HostCpu | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: idle and iowait are the idle ones.
    const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - fields[3]! - fields[4]!, total };
  } catch {
    return undefined;
  }
}

/** Cores busy on the whole host between two readings (NaN without /proc/stat). */
export function busyCores(before: HostCpu | undefined, after: HostCpu | undefined, cpus: number): number {
  if (!before || !after || after.total === before.total) return Number.NaN;
  return ((after.busy - before.busy) / (after.total - before.total)) * cpus;
}
