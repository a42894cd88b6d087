import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeBertOnnxFixture } from './bert-onnx-fixture.js';
import { writeBertFixture, writeLlamaFixture } from './gguf-fixtures.js';

export interface ModelFixtures {
  dir: string;
  /** Tiny llama with a ChatML template (random weights), trained context 65536. */
  llama: string;
  /** The same llama with a tool format in its template (Qwen 2.5's ChatML with tools). */
  llamaTools: string;
  /** The same llama with fill-in-the-middle tokens (a code model's `suffix` support). */
  llamaFim: string;
  /** Tiny bert, mean pooling, context 128. */
  bert: string;
  /** The same bert shape with CLS pooling and another seed. */
  bertCls: string;
  /** Tiny sentence-transformers BERT exported to ONNX (a directory: onnx/model.onnx, tokenizer.json, pooling files), mean pooling, normalized. */
  onnxBert: string;
  cleanup(): Promise<void>;
}

/** Generates the tiny fixture models into a temp dir; nothing binary is committed. */
export async function createModelFixtures(): Promise<ModelFixtures> {
  const dir = await mkdtemp(join(tmpdir(), 'hearth-models-'));
  const llama = join(dir, 'tiny-llama.gguf');
  const bert = join(dir, 'tiny-bert.gguf');
  const bertCls = join(dir, 'tiny-bert-cls.gguf');
  // A long trained context (RoPE: it costs no weights), so a test that stops a generation itself never races it to the end.
  await writeLlamaFixture(llama, { seed: 1, context: 65536 });
  const llamaTools = join(dir, 'tiny-llama-tools.gguf');
  await writeLlamaFixture(llamaTools, { seed: 1, context: 4096, chatTemplate: 'tools' });
  const llamaFim = join(dir, 'tiny-llama-fim.gguf');
  await writeLlamaFixture(llamaFim, { seed: 1, context: 4096, fim: true });
  await writeBertFixture(bert, { seed: 2, context: 128 });
  await writeBertFixture(bertCls, { seed: 3, context: 128, pooling: 'cls' });
  const onnxBert = join(dir, 'tiny-bert-onnx');
  await writeBertOnnxFixture(onnxBert, { seed: 4 });
  return { dir, llama, llamaTools, llamaFim, bert, bertCls, onnxBert, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
