import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import Module from 'node:module';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { HearthError } from '../../errors/index.js';
import { cpuVariantOfFile, cpuVariantsIn } from './cpu-variants.js';

type NodeModule = { exports: unknown };
type ExtensionHandler = (this: unknown, module: NodeModule, filename: string) => void;
type LlamaBinding = { loadBackends(...args: unknown[]): unknown };

/** The CommonJS loader's table of file handlers, where `require()` of a `.node` file goes. Internal, but stable since Node 0.x. */
const extensions = (Module as unknown as { _extensions: Record<string, ExtensionHandler> })._extensions;

/** One pinned getLlama() at a time: the loader hook is process-wide. */
let queue: Promise<unknown> = Promise.resolve();

/**
 * Runs `initialise` (a getLlama() call) so that ggml registers `variant`'s CPU library and no other.
 *
 * Why a loader hook: node-llama-cpp has no option for it. Its Llama constructor calls the addon's
 * `loadBackends(dirname(bindingPath))`, which runs ggml's `ggml_backend_load_all_from_path(dir)`:
 * that scores every `libggml-cpu-*.so` in `dir` and registers the best, and only then loads
 * GGML_BACKEND_PATH's library, as a second CPU backend behind the first (so that variable does not pin).
 * So while `initialise` runs, the addon's exports (what `require()` returns for llama-addon.node) are
 * wrapped: a folder passed to `loadBackends` is swapped for a private folder of symlinks to the same
 * files minus the other CPU variants. ggml follows the symlinks, and its scorer only ever sees (and
 * dlopens) the pinned library; the mapped file, and so /proc/self/maps, is still the real one.
 *
 * The folder is made with mkdtemp under the OS temp dir, so concurrent processes never share one, and
 * removed afterwards: once a library is mapped, its symlink is no longer needed. The hook is installed
 * only for the duration of `initialise` and removed in `finally`.
 */
export function withCpuVariantPin<T>(variant: string, initialise: () => Promise<T>): Promise<T> {
  const run = queue.then(() => pinned(variant, initialise));
  queue = run.catch(() => undefined);
  return run;
}

async function pinned<T>(variant: string, initialise: () => Promise<T>): Promise<T> {
  let root: string;
  try {
    root = mkdtempSync(join(tmpdir(), 'hearth-cpu-variant-'));
  } catch (error) {
    throw new HearthError('IO_ERROR', `cannot make a folder for the pinned CPU variant in ${tmpdir()}: ${(error as Error).message}`, { cause: error, hint: 'set TMPDIR to a writable folder' });
  }
  // An error raised inside the native constructor's call reaches us through getLlama's own handling; keep the typed one.
  let failure: unknown;
  const original = extensions['.node']!;
  const hook: ExtensionHandler = function (module, filename) {
    original.call(this, module, filename);
    if (basename(filename) !== 'llama-addon.node') return;
    module.exports = pinBinding(module.exports as LlamaBinding, variant, root, (error) => (failure ??= error));
  };
  extensions['.node'] = hook;
  try {
    return await initialise();
  } catch (error) {
    throw failure ?? error;
  } finally {
    // Another hook installed after ours stays in place; it would otherwise lose its own.
    if (extensions['.node'] === hook) extensions['.node'] = original;
    rmSync(root, { recursive: true, force: true });
  }
}

/**
 * The binding with `loadBackends` replaced. The addon defines its functions non-writable and
 * non-configurable, so neither assignment nor a Proxy (whose get must then return the original) can
 * change it; an object inheriting from the binding can, and every other member is reached unchanged.
 */
function pinBinding(binding: LlamaBinding, variant: string, root: string, onError: (error: unknown) => void): LlamaBinding {
  let mirrors = 0;
  const loadBackends = (...args: unknown[]): unknown => {
    const dir = args[0];
    if (typeof dir !== 'string' || dir === '') return binding.loadBackends(...args);
    try {
      const mirror = mirrorWithOnly(dir, variant, join(root, String(mirrors++)));
      return binding.loadBackends(mirror ?? dir, ...args.slice(1));
    } catch (error) {
      onError(error);
      throw error;
    }
  };
  return Object.create(binding as object, { loadBackends: { value: loadBackends, enumerable: true } }) as LlamaBinding;
}

/**
 * A folder of symlinks to everything in `dir` except the CPU variants other than `variant`, or
 * undefined when `dir` holds no CPU variant at all (a GPU fallback folder: nothing to choose there).
 */
function mirrorWithOnly(dir: string, variant: string, mirror: string): string | undefined {
  const variants = cpuVariantsIn(dir);
  if (variants.length === 0) return undefined;
  if (!variants.includes(variant)) {
    throw new HearthError('CPU_VARIANT_UNSUPPORTED', `the llama.cpp binaries in ${dir} have no "${variant}" CPU variant (they have ${variants.join(', ')})`, {
      details: { variant, available: variants },
      hint: 'set HEARTH_CPU_VARIANT=auto or one of those',
    });
  }
  const others = new Set(variants.filter((v) => v !== variant));
  mkdirSync(mirror);
  for (const name of readdirSync(dir)) {
    const cpuVariant = cpuVariantOfFile(name);
    if (cpuVariant !== undefined && others.has(cpuVariant)) continue;
    symlinkSync(join(dir, name), join(mirror, name));
  }
  return mirror;
}
