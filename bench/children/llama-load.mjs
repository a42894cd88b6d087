// S1's baseline: a bare node-llama-cpp load, as a plain `node app.mjs` program (no tsx, no
// TypeScript), so it pays exactly Node's own start-up. It loads the file, creates the context
// hearth would create, and then reports `ready`; the parent times from spawn to that event.
// It speaks bench/children/child-io.ts's IPC protocol by hand.
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';

process.once('disconnect', () => process.exit(2));
process.on('message', async (message) => {
  if (message.type !== 'input') return;
  const input = message.input;
  try {
    const t0 = performance.now();
    const llama = await getLlama({ build: 'never', gpu: false, logLevel: LlamaLogLevel.error, logger: () => undefined });
    const model = await llama.loadModel({ modelPath: input.model });
    const t1 = performance.now();
    const size = Math.min(input.contextSize, model.trainContextSize);
    if (input.kind === 'embedding') {
      for (let i = 0; i < input.parallel; i++) await model.createEmbeddingContext({ contextSize: size, batchSize: size, threads: input.threads });
    } else {
      await model.createContext({ contextSize: size, sequences: input.parallel, threads: input.threads });
    }
    const t2 = performance.now();
    process.send({ type: 'event', event: 'ready' });
    process.send({ type: 'result', result: { loadMs: t1 - t0, contextMs: t2 - t1 } }, () => process.exit(0));
  } catch (error) {
    process.send({ type: 'error', message: error?.stack ?? String(error) }, () => process.exit(1));
  }
});
