import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { MINILM_L6_SHAPE, writeBertOnnxFixture, type BertOnnxOptions } from '../../test/support/bert-onnx-fixture.js';
import { writeBertFixture, writeLlamaFixture, type BertFixtureOptions, type LlamaFixtureOptions } from '../../test/support/gguf-fixtures.js';
import { REPO_ROOT } from '../paths.js';

/**
 * The benchmark's generated models, written with the project's own fixture
 * writers and cached under the bench cache keyed by their options and the
 * writer's source, so a repeat run reuses them and a writer change regenerates.
 */

/** MiniLM-L6 shape (all-MiniLM-L6-v2): 6 layers, 384 wide, 12 heads, 1536 FFN, 512 positions, F16. */
export const MINILM_GGUF: BertFixtureOptions = { layers: 6, embd: 384, heads: 12, ff: 1536, context: 512, type: 'F16', seed: 7, pooling: 'mean' };
/** About 58M parameters: 8 layers of 768 with a 2048 FFN (multi-head attention), F16. */
export const LLAMA_60M: LlamaFixtureOptions = { layers: 8, embd: 768, heads: 12, headsKv: 12, ff: 2048, context: 2048, type: 'F16', seed: 11 };
/** --quick sizes: same architectures, tiny, so the whole run fits in minutes. */
export const QUICK_BERT: BertFixtureOptions = { layers: 2, embd: 128, heads: 4, ff: 512, context: 128, type: 'F16', seed: 7, pooling: 'mean' };
export const QUICK_LLAMA: LlamaFixtureOptions = { layers: 2, embd: 128, heads: 4, headsKv: 4, ff: 384, context: 512, type: 'F16', seed: 11 };
/** Overrides of bert-onnx-fixture.ts's MINILM_L6_SHAPE giving QUICK_BERT's shape (the vocabulary aside). */
export const QUICK_ONNX_SHAPE = { layers: 2, hidden: 128, heads: 4, intermediate: 512, maxPositions: 128, maxSeqLength: 128 };

const GGUF_WRITER = [join(REPO_ROOT, 'test', 'support', 'gguf-fixtures.ts'), join(REPO_ROOT, 'test', 'support', 'gguf-writer.ts')];
/** The ONNX writer and the modules it builds on, for the cache key. */
const ONNX_SOURCES = [
  ...['bert-onnx-fixture.ts', 'wordpiece-tokenizer.ts', 'tensor-seed.ts'].map((f) => join(REPO_ROOT, 'test', 'support', f)),
  join(REPO_ROOT, 'src', 'formats', 'onnx', 'onnx-writer.ts'),
];

export async function cachedBertGguf(cacheDir: string, options: BertFixtureOptions): Promise<string> {
  const path = join(cacheDir, 'models', `bert-${await key(GGUF_WRITER, options)}.gguf`);
  return cachedFile(path, (tmp) => writeBertFixture(tmp, options));
}

export async function cachedLlamaGguf(cacheDir: string, options: LlamaFixtureOptions): Promise<string> {
  const path = join(cacheDir, 'models', `llama-${await key(GGUF_WRITER, options)}.gguf`);
  return cachedFile(path, (tmp) => writeLlamaFixture(tmp, options));
}

/**
 * A sentence-transformers folder (onnx/model.onnx, tokenizer.json, config.json,
 * modules.json, 1_Pooling/config.json) of MiniLM-L6 shape, from the project's
 * ONNX fixture writer.
 */
export async function cachedBertOnnx(cacheDir: string, shape: Partial<BertOnnxOptions> = {}): Promise<string> {
  const options: BertOnnxOptions = { ...MINILM_L6_SHAPE, ...shape, seed: 7 };
  const dir = join(cacheDir, 'models', `bert-onnx-${await key(ONNX_SOURCES, options)}`);
  if (existsSync(join(dir, 'tokenizer.json'))) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await writeBertOnnxFixture(tmp, options);
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
  return dir;
}

async function cachedFile(path: string, write: (tmp: string) => Promise<unknown>): Promise<string> {
  if (existsSync(path)) return path;
  await mkdir(join(path, '..'), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  await write(tmp);
  await rename(tmp, path);
  return path;
}

/** Options and the writers' source: a changed writer makes new files. */
async function key(writers: string[], options: object): Promise<string> {
  const hash = createHash('sha256');
  for (const writer of writers) hash.update(await readFile(writer));
  return hash.update(JSON.stringify(options)).digest('hex').slice(0, 12);
}
