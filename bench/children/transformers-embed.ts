import { basename, dirname } from 'node:path';
import { childMain } from './child-io.js';

/**
 * Baseline (e): the @huggingface/transformers feature-extraction pipeline, the
 * path a TypeScript user would otherwise pick: local files only, fp32, mean
 * pooling and normalisation by the pipeline, at each batch size in turn.
 */
export interface TransformersEmbedInput {
  dir: string;
  batches: number[];
  texts: string[];
  maxTexts: number;
  timeLimitMs: number;
}

childMain<TransformersEmbedInput, Array<{ batch: number; rate: number; texts: number }>>(async (input) => {
  const { pipeline, env } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = dirname(input.dir);
  const extractor = await pipeline('feature-extraction', basename(input.dir), { dtype: 'fp32', local_files_only: true });
  const points: Array<{ batch: number; rate: number; texts: number }> = [];
  for (const size of input.batches) {
    let next = 0;
    const run = async () => {
      const texts = Array.from({ length: size }, () => input.texts[next++ % input.texts.length]!);
      await extractor(texts, { pooling: 'mean', normalize: true });
    };
    await run();
    await run();
    let done = 0;
    const start = performance.now();
    while (done < input.maxTexts && performance.now() - start < input.timeLimitMs) {
      await run();
      done += size;
    }
    points.push({ batch: size, rate: done / ((performance.now() - start) / 1000), texts: done });
  }
  await extractor.dispose();
  return points;
});
