import * as ort from 'onnxruntime-node';
import { childMain } from './child-io.js';
import { loadTokenizer, meanPoolNormalize, onnxModelFile, padBatch } from './onnx-inputs.js';

/**
 * Baseline (d): raw onnxruntime-node, as a careful user would write it: one
 * session with `threads` intra-op threads and all graph optimisations, texts
 * tokenised with tokenizer.json, padded batches, mean pooling and L2
 * normalisation in JS. Every batch size of the sweep runs in this process.
 */
export interface OrtEmbedInput {
  dir: string;
  threads: number;
  batches: number[];
  texts: string[];
  maxTexts: number;
  timeLimitMs: number;
}

export interface OrtPoint {
  threads: number;
  batch: number;
  rate: number;
  texts: number;
  tokensPerText: number;
}

childMain<OrtEmbedInput, OrtPoint[]>(async (input) => {
  const tokenizer = await loadTokenizer(input.dir);
  const session = await ort.InferenceSession.create(onnxModelFile(input.dir), {
    intraOpNumThreads: input.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionProviders: ['cpu'],
  });
  const output = session.outputNames.includes('last_hidden_state') ? 'last_hidden_state' : session.outputNames[0]!;
  const points: OrtPoint[] = [];
  for (const size of input.batches) {
    let next = 0;
    let tokens = 0;
    const run = async () => {
      const texts = Array.from({ length: size }, () => input.texts[next++ % input.texts.length]!);
      const batch = padBatch(tokenizer, texts);
      const shape = [batch.rows, batch.length];
      const feeds: Record<string, ort.Tensor> = {};
      for (const name of session.inputNames) {
        const data = name === 'input_ids' ? batch.ids : name === 'attention_mask' ? batch.mask : batch.types;
        feeds[name] = new ort.Tensor('int64', data, shape);
      }
      const result = await session.run(feeds, [output]);
      const hidden = result[output]!;
      meanPoolNormalize(hidden.data as Float32Array, batch, hidden.dims[2]!);
      tokens += batch.lengths.reduce((a, b) => a + b, 0);
    };
    await run();
    await run();
    tokens = 0;
    let done = 0;
    const start = performance.now();
    while (done < input.maxTexts && performance.now() - start < input.timeLimitMs) {
      await run();
      done += size;
    }
    const elapsed = (performance.now() - start) / 1000;
    points.push({ threads: input.threads, batch: size, rate: done / elapsed, texts: done, tokensPerText: tokens / done });
  }
  await session.release();
  return points;
});
