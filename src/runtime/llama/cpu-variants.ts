import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { HearthError } from '../../errors/index.js';

/**
 * The CPU features each of ggml's CPU kernel variants is compiled for, as /proc/cpuinfo names them.
 * Taken from llama.cpp's own definitions at the release node-llama-cpp 3.22.1 bundles (tag v0.5.0,
 * node_modules/node-llama-cpp/llama/gitRelease.bundle):
 * - ggml/src/CMakeLists.txt, `if (GGML_CPU_ALL_VARIANTS)`: the variants and their feature lists;
 * - ggml/src/ggml-cpu/CMakeLists.txt: AVX512 means -mavx512f -mavx512cd -mavx512vl -mavx512dq -mavx512bw;
 * - ggml/src/ggml-cpu/arch/x86/cpu-feats.cpp and ggml/src/ggml-feats.h: the run-time checks ggml's
 *   scorer makes (AVX512 checks F, CD, VL, DQ and BW; ARM FP16 needs both fphp and asimdhp).
 * ggml's scorer reads CPUID and, by its own FIXME, ignores whether the OS enabled the registers;
 * the kernel's cpuinfo flags account for that (it clears AVX/AVX-512 when XSAVE does not cover them).
 */
const AVX512 = ['avx512f', 'avx512cd', 'avx512vl', 'avx512dq', 'avx512bw'];
const HASWELL = ['sse4_2', 'avx', 'f16c', 'fma', 'avx2', 'bmi2'];
const SKYLAKEX = [...HASWELL, ...AVX512];

const X64_VARIANTS: Readonly<Record<string, readonly string[]>> = {
  x64: [],
  sse42: ['sse4_2'],
  sandybridge: ['sse4_2', 'avx'],
  ivybridge: ['sse4_2', 'avx', 'f16c'],
  piledriver: ['sse4_2', 'avx', 'f16c', 'fma'],
  haswell: HASWELL,
  skylakex: SKYLAKEX,
  cannonlake: [...SKYLAKEX, 'avx512vbmi'],
  cascadelake: [...SKYLAKEX, 'avx512_vnni'],
  icelake: [...SKYLAKEX, 'avx512vbmi', 'avx512_vnni'],
  cooperlake: [...SKYLAKEX, 'avx512_vnni', 'avx512_bf16'],
  zen4: [...SKYLAKEX, 'avx512vbmi', 'avx512_vnni', 'avx512_bf16'],
  alderlake: [...HASWELL, 'avx_vnni'],
  sapphirerapids: [...SKYLAKEX, 'avx512vbmi', 'avx512_vnni', 'avx512_bf16', 'amx_tile', 'amx_int8'],
};

const FP16 = ['fphp', 'asimdhp'];
const ARM64_VARIANTS: Readonly<Record<string, readonly string[]>> = {
  'armv8.0_1': [],
  'armv8.2_1': ['asimddp'],
  'armv8.2_2': ['asimddp', ...FP16],
  'armv8.2_3': ['asimddp', ...FP16, 'sve'],
  'armv8.6_1': ['asimddp', ...FP16, 'sve', 'i8mm'],
  'armv8.6_2': ['asimddp', ...FP16, 'sve', 'i8mm', 'sve2'],
  'armv9.2_1': ['asimddp', ...FP16, 'sve', 'i8mm', 'sme'],
  'armv9.2_2': ['asimddp', ...FP16, 'sve', 'i8mm', 'sve2', 'sme'],
};

const VARIANTS_BY_ARCH: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>> = { x64: X64_VARIANTS, arm64: ARM64_VARIANTS };

export type VariantSupport =
  | { supported: true }
  | { supported: false; reason: 'unknown-to-hearth' }
  | { supported: false; reason: 'missing-features'; missing: string[] };

/** The features a variant needs, or undefined when hearth does not know the variant (on this architecture). */
export function variantFeatures(variant: string, arch: string = process.arch): readonly string[] | undefined {
  const table = VARIANTS_BY_ARCH[arch];
  return table && Object.hasOwn(table, variant) ? table[variant] : undefined;
}

/** Whether this CPU can execute a variant. A variant hearth has no feature list for is never run: it could fault. */
export function variantSupport(variant: string, flags: ReadonlySet<string>, arch: string = process.arch): VariantSupport {
  const needed = variantFeatures(variant, arch);
  if (needed === undefined) return { supported: false, reason: 'unknown-to-hearth' };
  const missing = needed.filter((f) => !flags.has(f));
  return missing.length === 0 ? { supported: true } : { supported: false, reason: 'missing-features', missing };
}

/**
 * The features every CPU of the machine has: the intersection of all `flags` (x86) or `Features` (ARM)
 * lines, since hybrid CPUs can list different sets per core and a thread may run on any of them.
 */
export function parseCpuFlags(cpuinfo: string): Set<string> {
  let common: Set<string> | undefined;
  for (const line of cpuinfo.split('\n')) {
    const match = /^(flags|Features)\s*:(.*)$/.exec(line);
    if (!match) continue;
    const flags = new Set(match[2]!.trim().split(/\s+/).filter(Boolean));
    common = common ? new Set([...common].filter((f) => flags.has(f))) : flags;
  }
  return common ?? new Set();
}

export function readCpuFlags(cpuinfoPath = '/proc/cpuinfo'): Set<string> {
  return parseCpuFlags(readFileSync(cpuinfoPath, 'utf8'));
}

/** The variant a ggml CPU library's file name carries (`libggml-cpu-haswell.so` → `haswell`). */
export function cpuVariantOfFile(name: string): string | undefined {
  return /^(?:lib)?ggml-cpu-(.+)\.(?:so|dll)$/.exec(name)?.[1];
}

/** node-llama-cpp's name for this platform in its prebuilt packages (@node-llama-cpp/<platform>-<arch>). */
function prebuiltPlatform(): string {
  return process.platform === 'darwin' ? 'mac' : process.platform === 'win32' ? 'win' : process.platform;
}

/** The `bins` folder of node-llama-cpp's CPU-only prebuilt package for this machine, if installed. */
export function prebuiltBinsDir(): string | undefined {
  try {
    // Resolved from node-llama-cpp itself: the prebuilt packages are its optional dependencies, not hearth's.
    const fromLlama = createRequire(createRequire(import.meta.url).resolve('node-llama-cpp'));
    return join(dirname(fromLlama.resolve(`@node-llama-cpp/${prebuiltPlatform()}-${process.arch}`)), '..', 'bins');
  } catch {
    return undefined;
  }
}

/** The variants a binaries folder holds, from its `libggml-cpu-<variant>.so` files. */
export function cpuVariantsIn(dir: string): string[] {
  try {
    return readdirSync(dir)
      .map(cpuVariantOfFile)
      .filter((v): v is string => v !== undefined)
      .sort();
  } catch {
    return [];
  }
}

/** The CPU variants the installed prebuilt binaries ship, sorted. */
export function availableCpuVariants(binsRoot = prebuiltBinsDir()): string[] {
  if (binsRoot === undefined) return [];
  let dirs: string[];
  try {
    dirs = readdirSync(binsRoot, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => join(binsRoot, d.name));
  } catch {
    return [];
  }
  return [...new Set(dirs.flatMap(cpuVariantsIn))].sort();
}

/** The installed variants this machine can run, sorted by name; none where /proc/cpuinfo cannot be read. */
export function runnableCpuVariants(flags: ReadonlySet<string> | undefined = tryReadCpuFlags(), available = availableCpuVariants()): string[] {
  return flags ? available.filter((v) => variantSupport(v, flags).supported) : [];
}

function tryReadCpuFlags(): Set<string> | undefined {
  try {
    return readCpuFlags();
  } catch {
    return undefined;
  }
}

/** The ggml CPU libraries mapped into a process, from its /proc/<pid>/maps text, without repeats. */
export function mappedCpuVariants(maps: string): string[] {
  const found = new Set<string>();
  for (const match of maps.matchAll(/\/(?:lib)?ggml-cpu-([^/\s]+)\.(?:so|dll)\s*$/gm)) found.add(match[1]!);
  return [...found];
}

/** The CPU variants this process has loaded; undefined where /proc/self/maps cannot be read (not Linux). */
export function loadedCpuVariants(mapsPath = '/proc/self/maps'): string[] | undefined {
  try {
    return mappedCpuVariants(readFileSync(mapsPath, 'utf8'));
  } catch {
    return undefined;
  }
}

/** What decides whether a variant may be pinned; read from this machine and process unless given (tests give their own). */
export interface VariantFacts {
  /** Variants the installed binaries ship. */
  available: readonly string[];
  /** CPU features (cpuinfo names), or undefined when /proc/cpuinfo cannot be read. */
  flags: ReadonlySet<string> | undefined;
  /** CPU variants this process has loaded already, or undefined when /proc/self/maps cannot be read. */
  loaded: readonly string[] | undefined;
  arch: string;
}

export function currentVariantFacts(): VariantFacts {
  return { available: availableCpuVariants(), flags: tryReadCpuFlags(), loaded: loadedCpuVariants(), arch: process.arch };
}

/**
 * Refuses, before anything is loaded, a pinned variant that is not installed (a configuration error
 * naming the installed ones), that this CPU cannot execute (it would die of SIGILL), or that differs
 * from the variant this process already runs (ggml's backend registry is process-wide and the addon
 * is loaded once, so the variant is chosen once per process).
 */
export function assertCpuVariantRunnable(variant: string, facts: VariantFacts = currentVariantFacts()): void {
  if (!facts.available.includes(variant)) {
    const listed = facts.available.length > 0 ? `available: ${facts.available.join(', ')}` : 'the installed llama.cpp binaries ship a single CPU library here, so only auto applies';
    throw new HearthError('CONFIG_INVALID', `invalid configuration:\n  pool.cpuVariant: unknown CPU variant "${variant}"; ${listed}`, {
      details: { problems: [`pool.cpuVariant: unknown CPU variant "${variant}"`], variant, available: facts.available },
      hint: 'set HEARTH_CPU_VARIANT (or pool.cpuVariant) to auto or one of the available variants',
    });
  }
  const runnable = facts.flags ? facts.available.filter((v) => variantSupport(v, facts.flags!, facts.arch).supported) : [];
  const hint = runnable.length > 0 ? `variants this CPU runs: ${runnable.join(', ')}; or auto` : 'set HEARTH_CPU_VARIANT=auto';
  if (!facts.flags) {
    throw new HearthError('CPU_VARIANT_UNSUPPORTED', `cannot read /proc/cpuinfo to check that this CPU runs the "${variant}" kernels`, { details: { variant }, hint });
  }
  const support = variantSupport(variant, facts.flags, facts.arch);
  if (!support.supported) {
    const why = support.reason === 'missing-features' ? `it lacks ${support.missing.join(', ')}` : `hearth does not know what CPU features "${variant}" needs on ${facts.arch}`;
    throw new HearthError('CPU_VARIANT_UNSUPPORTED', `this CPU cannot run llama.cpp's "${variant}" CPU kernels: ${why}`, {
      details: { variant, ...(support.reason === 'missing-features' ? { missing: support.missing } : {}), runnable },
      hint,
    });
  }
  if (!facts.loaded) {
    throw new HearthError('CPU_VARIANT_UNSUPPORTED', `cannot pin the CPU variant "${variant}": checking which one loaded needs /proc/self/maps (Linux)`, {
      details: { variant },
      hint: 'set HEARTH_CPU_VARIANT=auto',
    });
  }
  if (facts.loaded.length > 0 && (facts.loaded.length !== 1 || facts.loaded[0] !== variant)) {
    throw new HearthError('CPU_VARIANT_UNSUPPORTED', `this process already runs llama.cpp's "${facts.loaded.join('", "')}" CPU kernels, so it cannot switch to "${variant}": a CPU variant is chosen once per process`, {
      details: { variant, loaded: facts.loaded },
      hint: 'use a separate process for each CPU variant',
    });
  }
}
