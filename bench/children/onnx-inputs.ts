import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';

/**
 * What a hand-written onnxruntime-node embedding loop needs from a
 * sentence-transformers folder: the model file and a tokenizer.json reader
 * (@huggingface/tokenizers, the library hearth's ONNX backend may use).
 */
export function onnxModelFile(dir: string): string {
  for (const candidate of [join(dir, 'onnx', 'model.onnx'), join(dir, 'model.onnx')]) if (existsSync(candidate)) return candidate;
  throw new Error(`no onnx/model.onnx or model.onnx in ${dir}`);
}

export async function loadTokenizer(dir: string): Promise<Tokenizer> {
  const json = JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8')) as object;
  const configPath = join(dir, 'tokenizer_config.json');
  const config = existsSync(configPath) ? (JSON.parse(await readFile(configPath, 'utf8')) as object) : {};
  return new Tokenizer(json, config);
}

export interface PaddedBatch {
  ids: BigInt64Array;
  mask: BigInt64Array;
  types: BigInt64Array;
  rows: number;
  length: number;
  /** Real (unpadded) tokens per row. */
  lengths: number[];
}

/** Tokenizes and right-pads a batch to its longest row. */
export function padBatch(tokenizer: Tokenizer, texts: string[]): PaddedBatch {
  // The package's .d.ts files use extension-less imports that NodeNext cannot follow, so Encoding is typed here.
  const encoded: number[][] = texts.map((t) => (tokenizer.encode(t) as { ids: number[] }).ids);
  const length = Math.max(...encoded.map((e) => e.length));
  const rows = texts.length;
  const ids = new BigInt64Array(rows * length);
  const mask = new BigInt64Array(rows * length);
  encoded.forEach((row, r) => {
    row.forEach((id, i) => {
      ids[r * length + i] = BigInt(id);
      mask[r * length + i] = 1n;
    });
  });
  return { ids, mask, types: new BigInt64Array(rows * length), rows, length, lengths: encoded.map((e) => e.length) };
}

/** Mean pooling over real tokens of a [rows, length, hidden] output, then L2 normalisation. */
export function meanPoolNormalize(hidden: Float32Array, batch: PaddedBatch, width: number): Float32Array[] {
  const out: Float32Array[] = [];
  for (let r = 0; r < batch.rows; r++) {
    const vector = new Float32Array(width);
    const n = batch.lengths[r]!;
    for (let t = 0; t < n; t++) {
      const base = (r * batch.length + t) * width;
      for (let h = 0; h < width; h++) vector[h]! += hidden[base + h]!;
    }
    let norm = 0;
    for (let h = 0; h < width; h++) norm += (vector[h]! / n) ** 2;
    const scale = 1 / (Math.sqrt(norm) * n || 1);
    for (let h = 0; h < width; h++) vector[h]! *= scale;
    out.push(vector);
  }
  return out;
}
