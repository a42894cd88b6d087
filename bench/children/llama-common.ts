import { getLlama, LlamaLogLevel, type Llama, type LlamaModel } from 'node-llama-cpp';

/**
 * node-llama-cpp set up as a program using it directly would: prebuilt
 * binaries only (as hearth does), errors logged, nothing else changed.
 */
export async function loadDirect(modelPath: string): Promise<{ llama: Llama; model: LlamaModel }> {
  const llama = await getLlama({ build: 'never', gpu: false, logLevel: LlamaLogLevel.error, logger: () => undefined });
  const model = await llama.loadModel({ modelPath });
  return { llama, model };
}
