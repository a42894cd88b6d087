import * as ort from 'onnxruntime-node';

/**
 * An inference session as hearth runs every ONNX graph: `threads` intra-op
 * threads and no inter-op pool (its sessions are already one per thread, and
 * the CPU gate counts `threads`), all graph optimisations, and the memory
 * arena and pattern kept across batches of the same shape.
 */
export function openSession(graph: string | Uint8Array, threads: number): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    enableCpuMemArena: true,
    enableMemPattern: true,
  };
  return typeof graph === 'string' ? ort.InferenceSession.create(graph, options) : ort.InferenceSession.create(graph, options);
}
