import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, hostname, loadavg, release, totalmem } from 'node:os';
import { readCgroupQuota } from '../src/runtime/machine.js';

/** What the numbers were measured on, read at run time and stored with them. */
export interface MachineInfo {
  host: string;
  cpuModel: string;
  logicalCpus: number;
  availableParallelism: number;
  cgroupCpuMax: string | undefined;
  cgroupCpus: number | undefined;
  cgroupMemoryMax: string | undefined;
  totalMemoryBytes: number;
  cpuFlags: string[];
  kernel: string;
  node: string;
  nodeLlamaCpp: string | undefined;
  onnxruntimeNode: string | undefined;
  gitCommit: string | undefined;
  gitDirty: boolean | undefined;
  /** 1-, 5- and 15-minute load averages when the run started: a busy machine gives noisy numbers. */
  loadAverageAtStart: number[];
}

const INTERESTING_FLAGS = ['avx', 'avx2', 'fma', 'f16c', 'avx512f', 'avx512_vnni', 'avx512_bf16', 'amx_tile', 'amx_bf16', 'amx_int8'];

export function readMachine(repoRoot: string): MachineInfo {
  const flags = readFlags();
  return {
    host: hostname(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    logicalCpus: cpus().length,
    availableParallelism: availableParallelism(),
    cgroupCpuMax: readText('/sys/fs/cgroup/cpu.max'),
    cgroupCpus: readCgroupQuota('/sys/fs/cgroup/cpu.max'),
    cgroupMemoryMax: readText('/sys/fs/cgroup/memory.max'),
    totalMemoryBytes: totalmem(),
    cpuFlags: INTERESTING_FLAGS.filter((f) => flags.has(f)),
    kernel: release(),
    node: process.version,
    nodeLlamaCpp: packageVersion(repoRoot, 'node-llama-cpp'),
    onnxruntimeNode: packageVersion(repoRoot, 'onnxruntime-node'),
    gitCommit: git(repoRoot, ['rev-parse', 'HEAD']),
    gitDirty: (() => {
      const status = git(repoRoot, ['status', '--porcelain']);
      return status === undefined ? undefined : status.length > 0;
    })(),
    loadAverageAtStart: loadavg().map((v) => Math.round(v * 100) / 100),
  };
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function readFlags(): Set<string> {
  const line = readText('/proc/cpuinfo')?.split('\n').find((l) => l.startsWith('flags'));
  return new Set(line?.split(':')[1]?.trim().split(/\s+/) ?? []);
}

function packageVersion(root: string, name: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(`${root}/node_modules/${name}/package.json`, 'utf8')) as { version: string }).version;
  } catch {
    return undefined;
  }
}

function git(cwd: string, args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}
