import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { loadConfig } from '../../src/config/index.js';
import { errorCodes } from '../../src/errors/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { tuningMachineKey } from '../../src/pool/create-pool.js';
import {
  assertCpuVariantRunnable,
  availableCpuVariants,
  mappedCpuVariants,
  parseCpuFlags,
  prebuiltBinsDir,
  readCpuFlags,
  runnableCpuVariants,
  variantFeatures,
  variantSupport,
  type VariantFacts,
} from '../../src/runtime/llama/cpu-variants.js';
import { LlamaBackend } from '../../src/runtime/llama/llama-backend.js';
import { bindingVersion, onnxRuntimeVersion } from '../../src/runtime/engine-versions.js';
import { machineKey } from '../../src/runtime/machine.js';
import { cosine, throwsCode } from '../support/assertions.js';
import { writeBertFixture } from '../support/gguf-fixtures.js';
import { killStrays, runHearth } from '../support/hearth-cli.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const TEXTS = ['hello world', 'the cat sat on the mat', 'a third, longer text about water and people who live by it'];

// A Haswell-class x86 CPU (AVX2, FMA, F16C, BMI2; no AVX-512), as two cores of a hybrid part where only one lists AVX-VNNI.
const HASWELL_CPUINFO = [
  'processor\t: 0',
  'flags\t\t: fpu sse sse2 ssse3 sse4_1 sse4_2 popcnt avx f16c fma bmi1 bmi2 avx2 avx_vnni',
  '',
  'processor\t: 1',
  'flags\t\t: fpu sse sse2 ssse3 sse4_1 sse4_2 popcnt avx f16c fma bmi1 bmi2 avx2',
  '',
].join('\n');
const ARM_CPUINFO = 'processor\t: 0\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp\n';

/**
 * ggml's own scorer (ggml/src/ggml-cpu/arch/x86/cpu-feats.cpp) as an oracle: among the variants a CPU
 * runs, the highest score loads under auto. Weights per feature, in cpuinfo names (the AVX-512 group counts once).
 */
const GGML_SCORE_BITS: Record<string, number> = { fma: 1, f16c: 2, sse4_2: 4, bmi2: 8, avx: 16, avx2: 32, avx_vnni: 64, avx512f: 128, avx512vbmi: 256, avx512_bf16: 512, avx512_vnni: 1024, amx_int8: 2048 };
const ggmlScore = (variant: string) => 1 + (variantFeatures(variant) ?? []).reduce((s, f) => s + (GGML_SCORE_BITS[f] ?? 0), 0);

const facts = (over: Partial<VariantFacts>): VariantFacts => ({ available: ['haswell', 'sapphirerapids', 'sse42', 'x64'], flags: parseCpuFlags(HASWELL_CPUINFO), loaded: [], arch: 'x64', ...over });

describe('CPU variant feature table (unit)', () => {
  test('decides support from cpuinfo flags, common to every core', () => {
    const flags = parseCpuFlags(HASWELL_CPUINFO);
    assert.ok(flags.has('avx2') && !flags.has('avx_vnni'), 'a flag one core lacks is not usable: threads run on any core');
    for (const v of ['x64', 'sse42', 'sandybridge', 'ivybridge', 'piledriver', 'haswell']) assert.deepEqual(variantSupport(v, flags, 'x64'), { supported: true }, v);
    assert.deepEqual(variantSupport('alderlake', flags, 'x64'), { supported: false, reason: 'missing-features', missing: ['avx_vnni'] });
    const spr = variantSupport('sapphirerapids', flags, 'x64');
    assert.ok(!spr.supported && spr.reason === 'missing-features');
    assert.deepEqual(spr.missing, ['avx512f', 'avx512cd', 'avx512vl', 'avx512dq', 'avx512bw', 'avx512vbmi', 'avx512_vnni', 'avx512_bf16', 'amx_tile', 'amx_int8']);
    // No AVX: only the SSE builds.
    const old = parseCpuFlags('flags\t: fpu sse sse2 ssse3 sse4_1 sse4_2 popcnt\n');
    assert.deepEqual(variantSupport('sandybridge', old, 'x64'), { supported: false, reason: 'missing-features', missing: ['avx'] });
    assert.deepEqual(variantSupport('sse42', old, 'x64'), { supported: true });
  });

  test('a variant with no feature list is never run, and ARM names have their own table', () => {
    assert.deepEqual(variantSupport('skylake9000', new Set(['avx2']), 'x64'), { supported: false, reason: 'unknown-to-hearth' });
    assert.deepEqual(variantSupport('haswell', new Set(['avx2']), 'arm64'), { supported: false, reason: 'unknown-to-hearth' });
    const arm = parseCpuFlags(ARM_CPUINFO);
    assert.deepEqual(variantSupport('armv8.2_2', arm, 'arm64'), { supported: true });
    assert.deepEqual(variantSupport('armv8.2_3', arm, 'arm64'), { supported: false, reason: 'missing-features', missing: ['sve'] });
    assert.deepEqual(parseCpuFlags('no flags here'), new Set());
  });

  test('ggml scores a superset higher, so the table agrees with ggml on what auto picks', () => {
    assert.ok(ggmlScore('haswell') > ggmlScore('piledriver') && ggmlScore('piledriver') > ggmlScore('sse42') && ggmlScore('sse42') > ggmlScore('x64'));
    assert.ok(ggmlScore('cascadelake') > ggmlScore('cannonlake'), 'VNNI outweighs VBMI in ggml');
  });

  test('refuses an unknown name as a config error naming the installed ones', () => {
    const e = throwsCode(() => assertCpuVariantRunnable('nehalem', facts({})), 'CONFIG_INVALID');
    assert.match(e.message, /unknown CPU variant "nehalem"; available: haswell, sapphirerapids, sse42, x64/);
    assert.deepEqual(e.details.available, ['haswell', 'sapphirerapids', 'sse42', 'x64']);
    throwsCode(() => assertCpuVariantRunnable('haswell', facts({ available: [] })), 'CONFIG_INVALID');
  });

  test('refuses a variant the CPU cannot execute, naming what it lacks and what it runs', () => {
    const e = throwsCode(() => assertCpuVariantRunnable('sapphirerapids', facts({})), 'CPU_VARIANT_UNSUPPORTED');
    assert.match(e.message, /lacks avx512f/);
    assert.deepEqual(e.details.runnable, ['haswell', 'sse42', 'x64']);
    assert.match(e.hint ?? '', /haswell, sse42, x64/);
    throwsCode(() => assertCpuVariantRunnable('sse42', facts({ flags: undefined })), 'CPU_VARIANT_UNSUPPORTED');
    assert.equal(errorCodes.CPU_VARIANT_UNSUPPORTED.exit, 78);
    assert.equal(errorCodes.CPU_VARIANT_UNSUPPORTED.status, 503);
  });

  test('a variant is chosen once per process', () => {
    assertCpuVariantRunnable('sse42', facts({ loaded: [] }));
    assertCpuVariantRunnable('sse42', facts({ loaded: ['sse42'] }));
    const e = throwsCode(() => assertCpuVariantRunnable('sse42', facts({ loaded: ['haswell'] })), 'CPU_VARIANT_UNSUPPORTED');
    assert.match(e.message, /already runs .*"haswell".* once per process/);
    throwsCode(() => assertCpuVariantRunnable('sse42', facts({ loaded: ['sse42', 'haswell'] })), 'CPU_VARIANT_UNSUPPORTED');
    throwsCode(() => assertCpuVariantRunnable('sse42', facts({ loaded: undefined })), 'CPU_VARIANT_UNSUPPORTED');
  });

  test('reads the loaded variants from a maps file', () => {
    const maps = [
      '7f00-7f01 r--p 00000000 08:01 1 /x/bins/linux-x64/libggml-base.so',
      '7f01-7f02 r-xp 00001000 08:01 2 /x/bins/linux-x64/libggml-cpu-sse42.so',
      '7f02-7f03 r--p 00002000 08:01 2 /x/bins/linux-x64/libggml-cpu-sse42.so',
      '7f03-7f04 r-xp 00001000 08:01 3 /x/bins/linux-x64/libggml-cpu-haswell.so',
    ].join('\n');
    assert.deepEqual(mappedCpuVariants(maps), ['sse42', 'haswell']);
    assert.deepEqual(mappedCpuVariants('7f00-7f01 r--p 0 0:0 0 /x/libggml-base.so\n'), []);
  });

  test('pool.cpuVariant: auto by default, read from HEARTH_CPU_VARIANT, any case; a malformed name is a config error', () => {
    const env = { HOME: '/nonexistent', HEARTH_HOME: '/nonexistent/hearth', HF_HOME: '/nonexistent/hf' };
    assert.equal(loadConfig(env).pool.cpuVariant, 'auto');
    assert.equal(loadConfig({ ...env, HEARTH_CPU_VARIANT: ' Haswell ' }).pool.cpuVariant, 'haswell');
    assert.equal(loadConfig(env, { pool: { cpuVariant: 'armv8.2_1' } }).pool.cpuVariant, 'armv8.2_1');
    const e = throwsCode(() => loadConfig({ ...env, HEARTH_CPU_VARIANT: '../sse42' }), 'CONFIG_INVALID');
    assert.match(e.message, /pool\.cpuVariant: use auto or a CPU variant name/);
  });

  test('tuning is stored per pinned variant; auto keeps the key it had before variants could be pinned', () => {
    const env = { HOME: '/nonexistent', HEARTH_HOME: '/nonexistent/hearth', HF_HOME: '/nonexistent/hf' };
    const auto = tuningMachineKey(loadConfig(env));
    assert.equal(auto, machineKey(`node-llama-cpp@${bindingVersion()}+onnxruntime-node@${onnxRuntimeVersion()}`));
    const sse42 = tuningMachineKey(loadConfig({ ...env, HEARTH_CPU_VARIANT: 'sse42' }));
    const x64 = tuningMachineKey(loadConfig({ ...env, HEARTH_CPU_VARIANT: 'x64' }));
    assert.equal(new Set([auto, sse42, x64]).size, 3);
  });

  test('every variant the installed binaries ship has a feature list', (t) => {
    const available = availableCpuVariants();
    if (available.length === 0) return t.skip(`no per-variant CPU libraries installed for ${process.platform}-${process.arch}`);
    assert.ok(prebuiltBinsDir());
    assert.deepEqual(available.filter((v) => variantFeatures(v) === undefined), [], 'a new variant needs its features in cpu-variants.ts');
  });
});

interface EmbedOutput {
  runtime: { cpuVariant: string | null };
  embeddings: Array<{ vector: number[] }>;
}

describe('pinning the CPU variant (real llama.cpp, one process per variant)', () => {
  const runnable = runnableCpuVariants();
  const pinnable = runnable.includes('sse42') ? 'sse42' : undefined;
  let box: Sandbox;
  let gguf: string;
  let native: { variant: string; vectors: Float32Array[] };

  before(async () => {
    box = await createSandbox();
    gguf = join(box.root, 'tiny-bert.gguf');
    await writeBertFixture(gguf, { seed: 21, context: 128 });
    // The test process itself runs auto: whatever ggml picks for this CPU.
    const backend = new LlamaBackend({ device: 'cpu', logger: silentLogger });
    const model = await backend.load(await box.store().resolve(gguf), { threads: 1, parallel: 1 });
    try {
      native = { variant: model.identity.cpuVariant!, vectors: (await model.embed(TEXTS)).vectors };
    } finally {
      await model.dispose();
      await backend.dispose();
    }
  });
  after(async () => {
    killStrays();
    await box.cleanup();
  });

  const embed = (variant: string, extra: Record<string, string> = {}) =>
    runHearth(['embed', gguf, ...TEXTS, '--full'], box.env({ HEARTH_THREADS: '1', HEARTH_CPU_VARIANT: variant, ...extra }));

  test('auto loads what ggml scores best among the variants this CPU runs', (t) => {
    if (runnable.length === 0 || process.arch !== 'x64') return t.skip('the scoring oracle is x86-64 only');
    const best = [...runnable].sort((a, b) => ggmlScore(b) - ggmlScore(a))[0];
    assert.equal(native.variant, best);
  });

  test('HEARTH_CPU_VARIANT=sse42 embeds on sse42 in a child while this process runs the native variant', async (t) => {
    if (!pinnable) return t.skip('sse42 is not installed or not runnable here');
    const r = await embed(pinnable);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as EmbedOutput;
    assert.equal(out.runtime.cpuVariant, 'sse42');
    assert.notEqual(native.variant, undefined);
    // Other kernels, other summation order: the same texts embed to nearly, not necessarily exactly, the same vectors.
    out.embeddings.forEach((e, i) => {
      const c = cosine(e.vector, native.vectors[i]!);
      t.diagnostic(`cosine sse42 vs ${native.variant}, text ${i}: ${c}`);
      assert.ok(c > 0.999, `text ${i}: cosine ${c}`);
    });
  });

  test('a variant this CPU cannot execute is refused with exit 78 before anything loads', async (t) => {
    const flags = readCpuFlags();
    const lacking = availableCpuVariants().find((v) => !variantSupport(v, flags).supported);
    if (!lacking) return t.skip('this CPU runs every installed variant');
    const r = await embed(lacking);
    assert.equal(r.signal, null, 'no crash');
    assert.equal(r.code, 78, r.stderr);
    assert.match(r.stderr, /error\[CPU_VARIANT_UNSUPPORTED\]: this CPU cannot run llama\.cpp's ".+" CPU kernels: it lacks /);
    assert.equal(r.stdout, '');
  });

  test('an unknown variant name is a config error that lists the installed ones', async (t) => {
    if (availableCpuVariants().length === 0) return t.skip('no per-variant CPU libraries here');
    const r = await embed('nehalem');
    assert.equal(r.code, 78, r.stderr);
    assert.match(r.stderr, /error\[CONFIG_INVALID\]: .*\n\s+pool\.cpuVariant: unknown CPU variant "nehalem"; available: /);
    for (const v of availableCpuVariants()) assert.ok(r.stderr.includes(v), v);
  });

  test('a second CPU library loaded behind the pin (GGML_BACKEND_PATH) is caught after loading', async (t) => {
    const other = runnable.find((v) => v !== pinnable);
    const dir = prebuiltBinsDir();
    if (!pinnable || !other || !dir) return t.skip('needs two runnable variants');
    const library = join(dir, `${process.platform}-${process.arch}`, `libggml-cpu-${other}.so`);
    const r = await embed(pinnable, { GGML_BACKEND_PATH: library });
    assert.equal(r.code, 78, r.stderr);
    assert.match(r.stderr, new RegExp(`error\\[CPU_VARIANT_UNSUPPORTED\\]: llama\\.cpp was pinned to the "sse42" CPU kernels but this process has .*"${other}"`));
  });

  test('in one process, another variant is refused and auto reports the pinned one', async (t) => {
    const other = runnable.find((v) => v !== pinnable);
    if (!pinnable || !other) return t.skip('needs two runnable variants');
    const script = join(box.root, 'two-runtimes.mts');
    const runtime = pathToFileURL(join(REPO, 'src/runtime/llama/llama-runtime.ts')).href;
    const logger = pathToFileURL(join(REPO, 'src/log/logger.ts')).href;
    await writeFile(
      script,
      `import { createLlamaRuntime } from ${JSON.stringify(runtime)};
import { silentLogger } from ${JSON.stringify(logger)};
const open = (cpuVariant) => createLlamaRuntime('cpu', silentLogger, { cpuVariant }).then((r) => r.cpuVariant, (e) => e.code);
const out = { first: await open(${JSON.stringify(pinnable)}) };
out.other = await open(${JSON.stringify(other)});
out.auto = await open('auto');
out.again = await open(${JSON.stringify(pinnable)});
process.stdout.write(JSON.stringify(out));
process.exit(0);
`,
    );
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script], { cwd: REPO, env: { PATH: process.env.PATH ?? '' }, timeout: 120_000 });
    assert.deepEqual(JSON.parse(stdout), { first: pinnable, other: 'CPU_VARIANT_UNSUPPORTED', auto: pinnable, again: pinnable });
  });
});
