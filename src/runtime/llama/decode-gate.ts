import type { LlamaContext } from 'node-llama-cpp';
import { HearthError } from '../../errors/index.js';
import type { CpuGate } from '../types.js';

interface NativeContext {
  decodeBatch(): Promise<void>;
}

/**
 * Takes the CPU gate around every decode step of a generation context, so a
 * long generation yields the cores to other models between tokens instead of
 * holding them for its whole length.
 *
 * Written by hand because node-llama-cpp has no public per-decode hook: its
 * `batching.dispatchSchedule` says when a decode starts but not when it ends.
 * Every decode of a context goes through its native `_ctx.decodeBatch()` (the
 * version is pinned in package.json), and the backend conformance suite fails
 * if that stops being true (a decode that skips the gate), rather than
 * fairness silently ending.
 */
export function gateDecodes(context: LlamaContext, gate: CpuGate, threads: number): LlamaContext {
  const native = (context as unknown as { _ctx?: Partial<NativeContext> })._ctx;
  if (!native || typeof native.decodeBatch !== 'function') {
    throw new HearthError('MODEL_LOAD_FAILED', 'this node-llama-cpp version has no per-context decodeBatch; hearth cannot share the CPU fairly with it', {
      hint: 'install the node-llama-cpp version pinned in package.json',
    });
  }
  const decode = native.decodeBatch.bind(native);
  // The binding's prototype methods are read-only, so assignment fails; an own property shadows them.
  Object.defineProperty(native, 'decodeBatch', {
    configurable: true,
    value: async () => {
      const release = await gate.acquire(threads);
      try {
        return await decode();
      } finally {
        release();
      }
    },
  });
  return context;
}
