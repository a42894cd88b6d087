import { silentLogger } from '../../src/log/logger.js';
import { createMemory, DEFAULT_INDEX_POLICY } from '../../src/memory/memory.js';
import { benchTexts } from '../texts.js';
import { MEMORY_TEXT_WORDS } from '../measure/memory-sizes.js';
import { childMain } from './child-io.js';
import { embedAlone, openMemoryWithModels, type MemoryTarget } from './memory-common.js';

/**
 * M3, end to end: `memory.add` of short text documents into a new
 * collection of the MiniLM-shaped ONNX model's space (chunked with the
 * model's tokenizer, embedded under the space's guard, written in
 * transactions of 64 chunks), against the embedding alone: `lease.model.embed`
 * on the same texts in the same batches of 64, through a guarded lease of
 * the same pool, timed just before and just after the add (their mean is the
 * baseline, so drift in the host's load falls on both sides). The collection
 * stays below its index threshold during the add; with `index`, the build
 * that crossing the default threshold starts is timed afterwards, apart.
 */
export interface MemoryAddTextInput {
  target: MemoryTarget;
  model: string;
  collection: string;
  documents: number;
  batch: number;
  seed: number;
  index: boolean;
  drop: boolean;
  /** HEARTH_TUNE_BUDGET: the pool tunes the model's threads when it first loads it. */
  tuneBudget: string;
}

export interface MemoryAddTextResult {
  documents: number;
  addMs: number;
  embedBeforeMs: number;
  embedAfterMs: number;
  chunks: number;
  tokens: number;
  /** The HNSW build (and its recall measurement) once the collection crossed the default threshold. */
  indexMs?: number | undefined;
  indexRecall?: number | null | undefined;
}

childMain<MemoryAddTextInput, MemoryAddTextResult>(async (input) => {
  const { memory, engine, spaces, close } = await openMemoryWithModels(input.target, { HEARTH_TUNE_BUDGET: input.tuneBudget });
  const texts = benchTexts({ count: input.documents, words: MEMORY_TEXT_WORDS, seed: input.seed });
  try {
    // The space is made from the model here (its probes embedded): the model is loaded and tuned before anything is timed.
    await memory.create(input.collection, { model: input.model });
    const before = await embedAlone(spaces, input.collection, texts, input.batch);
    const docs = texts.map((text, i) => ({ id: `t${i}`, text }));
    const started = performance.now();
    const report = await memory.add(input.collection, docs);
    const addMs = performance.now() - started;
    const after = await embedAlone(spaces, input.collection, texts, input.batch);
    if (report.added !== input.documents) throw new Error(`memory.add added ${report.added} documents of ${input.documents}`);
    const result: MemoryAddTextResult = { documents: input.documents, addMs, embedBeforeMs: before.ms, embedAfterMs: after.ms, chunks: report.chunks, tokens: before.tokens };
    if (input.index) {
      // What crossing the default threshold costs, once: an add of nothing runs the same index upkeep as any add.
      const indexing = createMemory({ engine, spaces, logger: silentLogger, index: DEFAULT_INDEX_POLICY, indexInBackground: false });
      const indexStarted = performance.now();
      await indexing.add(input.collection, []);
      result.indexMs = performance.now() - indexStarted;
      result.indexRecall = (await indexing.get(input.collection)).recall;
    }
    if (input.drop) await memory.drop(input.collection);
    return result;
  } finally {
    await close();
  }
});
