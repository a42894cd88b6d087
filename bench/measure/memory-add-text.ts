import { rm } from 'node:fs/promises';
import type { MemoryAddTextInput, MemoryAddTextResult } from '../children/memory-add-text.js';
import type { RunContext } from '../context.js';
import { tamedEnv } from '../env.js';
import { runChild } from '../proc/child.js';
import { MEMORY_CHILD } from './memory-children.js';
import { memorySizes } from './memory-sizes.js';
import { freshTarget, type EngineKind } from './memory-stores.js';

/** Seed of M3's documents (bench/texts.ts sentences, none of them in M2's corpus). */
const DOCUMENT_SEED = 14_003;
const ADD_TIMEOUT_MS = 60 * 60_000;

/** M3, one repeat on one engine, in a fresh child process with the CLI's tamed environment. */
export async function addTexts(ctx: RunContext, kind: EngineKind): Promise<MemoryAddTextResult> {
  const sizes = memorySizes(ctx.options.quick);
  const target = await freshTarget(ctx, kind, `m3-${ctx.repeat}`);
  if ('unavailable' in target) throw new Error(target.unavailable);
  ctx.log(`  ${kind}: memory.add of ${sizes.documents} texts, between two runs of the embedding alone`);
  try {
    const input: MemoryAddTextInput = {
      target,
      model: await ctx.bertOnnx(),
      collection: `m3_r${ctx.repeat}`,
      documents: sizes.documents,
      batch: sizes.embedBatch,
      seed: DOCUMENT_SEED,
      // The build at the threshold is measured once per engine, in the first repeat.
      index: ctx.repeat === 0,
      drop: kind === 'postgres',
      tuneBudget: ctx.profile.tuneBudget,
    };
    return await runChild<MemoryAddTextInput, MemoryAddTextResult>(MEMORY_CHILD.addText, input, {
      env: tamedEnv(),
      timeoutMs: ADD_TIMEOUT_MS,
    });
  } finally {
    await rm(target.home, { recursive: true, force: true });
  }
}
