import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { serveThread, type ThreadReply } from '../worker-thread.js';
import { openSession } from './open-session.js';
import { poolTokens } from './pooling.js';
import type { BatchRequest, BatchResult, SessionShape, WorkerSetup } from './worker-protocol.js';

/**
 * One ONNX Runtime session on its own thread (see WorkerThread for why).
 * Pooling happens here too, so only [rows, hidden] travels back.
 */
const port = parentPort!;
const setup = workerData as WorkerSetup;
const post = (reply: ThreadReply<SessionShape, BatchResult>) => port.postMessage(reply);

/** Token-state outputs in the names Optimum and sentence-transformers exports use. */
const OUTPUT_NAMES = ['last_hidden_state', 'token_embeddings'];
const KNOWN_INPUTS = new Set(['input_ids', 'attention_mask', 'token_type_ids', 'position_ids']);

async function main(): Promise<void> {
  const session = await openSession(setup.modelPath, setup.threads);
  const shape = describe(session);
  const int64 = session.inputMetadata.some((m) => m.isTensor && m.type === 'int64');
  serveThread<BatchRequest, BatchResult>(
    port,
    async (batch) => {
      const value = await run(session, shape, int64, batch);
      return { value, transfer: [value.vectors.buffer as ArrayBuffer] };
    },
    () => session.release(),
  );
  post({ type: 'ready', info: shape });
}

function describe(session: ort.InferenceSession): SessionShape {
  const unknown = session.inputNames.filter((n) => !KNOWN_INPUTS.has(n));
  if (!session.inputNames.includes('input_ids') || unknown.length > 0) {
    throw new Error(`the graph's inputs are [${session.inputNames.join(', ')}]; expected input_ids with attention_mask, token_type_ids or position_ids`);
  }
  const output = OUTPUT_NAMES.find((n) => session.outputNames.includes(n)) ?? session.outputNames.find((n) => rankOf(session, n) === 3);
  if (!output) throw new Error(`the graph has no token-state output (looked for ${OUTPUT_NAMES.join(', ')}, or any 3-D output)`);
  const meta = session.outputMetadata.find((m) => m.name === output);
  const last = meta?.isTensor ? meta.shape.at(-1) : undefined;
  return { inputs: [...session.inputNames], output, hidden: typeof last === 'number' ? last : undefined };
}

function rankOf(session: ort.InferenceSession, name: string): number | undefined {
  const meta = session.outputMetadata.find((m) => m.name === name);
  return meta?.isTensor ? meta.shape.length : undefined;
}

async function run(session: ort.InferenceSession, shape: SessionShape, int64: boolean, batch: BatchRequest): Promise<BatchResult> {
  const { rows, seqLen, lengths } = batch;
  const dims = [rows, seqLen];
  const tensor = (values: Int32Array) => (int64 ? new ort.Tensor('int64', BigInt64Array.from(values, (v) => BigInt(v)), dims) : new ort.Tensor('int32', values, dims));
  const mask = new Int32Array(rows * seqLen);
  const positions = new Int32Array(rows * seqLen);
  for (let r = 0; r < rows; r++) {
    for (let t = 0; t < lengths[r]!; t++) {
      mask[r * seqLen + t] = 1;
      positions[r * seqLen + t] = t;
    }
  }
  const available: Record<string, () => ort.Tensor> = {
    input_ids: () => tensor(batch.ids),
    attention_mask: () => tensor(mask),
    token_type_ids: () => tensor(new Int32Array(rows * seqLen)),
    position_ids: () => tensor(positions),
  };
  const feeds = Object.fromEntries(shape.inputs.map((name) => [name, available[name]!()]));
  const outputs = await session.run(feeds, [shape.output]);
  const states = outputs[shape.output]!;
  try {
    const hidden = states.dims.at(-1)!;
    if (states.type !== 'float32' || states.dims.length !== 3 || states.dims[0] !== rows || states.dims[1] !== seqLen) {
      throw new Error(`${shape.output} came back as ${states.type} [${states.dims.join(', ')}], expected float32 [${rows}, ${seqLen}, hidden]`);
    }
    return { vectors: poolTokens(states.data as Float32Array, lengths, seqLen, hidden, batch.pooling), hidden };
  } finally {
    for (const value of Object.values(outputs)) value.dispose();
  }
}

main().catch((error: unknown) => post({ type: 'failed', id: undefined, message: `cannot load the model: ${(error as Error).message}` }));
