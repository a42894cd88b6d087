import { readFileSync } from 'node:fs';
import { arch } from 'node:os';
import type { RuntimeIdentity } from '../types.js';

/** CPU features that decide which MLAS kernels ONNX Runtime dispatches to, in the order MLAS prefers them. */
const MLAS_FEATURES = ['amx_int8', 'avx512_vnni', 'avx512bw', 'avx512f', 'avx_vnni', 'avx2', 'fma', 'sse4_1'];

/**
 * ONNX Runtime picks its GEMM kernels (MLAS) per CPU at run time: AVX2,
 * AVX-512, VNNI and AMX give numerically different sums, so the set a
 * machine offers belongs in the model's identity, e.g. "mlas:x64+avx512f+avx512bw+avx512_vnni".
 */
export function mlasKernelVariant(cpuinfoPath = '/proc/cpuinfo'): string {
  let flags: Set<string>;
  try {
    const line = readFileSync(cpuinfoPath, 'utf8').split('\n').find((l) => /^(flags|Features)\s*:/.test(l)) ?? '';
    flags = new Set(line.split(':')[1]?.trim().split(/\s+/) ?? []);
  } catch {
    return `mlas:${arch()}`;
  }
  const present = MLAS_FEATURES.filter((f) => flags.has(f)).reverse();
  return [`mlas:${arch()}`, ...present].join('+');
}

/** The part of a runtime identity every ONNX Runtime model shares: the engine, its build and the kernels it dispatches to. */
export function onnxEngineIdentity(engineVersion: string, cpuVariant: string): Pick<RuntimeIdentity, 'engine' | 'engineVersion' | 'binding' | 'device' | 'cpuVariant'> {
  return { engine: 'onnxruntime', engineVersion: `onnxruntime@${engineVersion}`, binding: `onnxruntime-node@${engineVersion}`, device: 'cpu', cpuVariant };
}
