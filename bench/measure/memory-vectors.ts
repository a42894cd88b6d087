import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { onnxRuntimeVersion } from '../../src/runtime/engine-versions.js';
import type { MemoryEmbedInput, MemoryEmbedResult, MemoryTruth } from '../children/memory-embed.js';
import type { RunContext } from '../context.js';
import { tamedEnv } from '../env.js';
import { runChild } from '../proc/child.js';
import { REPO_ROOT } from '../paths.js';
import { MEMORY_CHILD } from './memory-children.js';
import { CORPUS_SEED, MEMORY_TEXT_WORDS, memorySizes, QUERY_SEED, TOP_K, type MemorySizes } from './memory-sizes.js';

/**
 * M2 measures recall on vectors from the bench's MiniLM-shaped ONNX model,
 * not random ones (random unit vectors have no near neighbours, so recall on
 * them says nothing). Embedding 100k texts takes minutes on 2 vCPUs, so the
 * vectors and their exact neighbours are cached under the bench cache
 * (<cache>/memory-vectors/<key>/), keyed by the model folder (itself keyed by
 * the writer and its options), the texts' generator, seeds and sizes, ONNX
 * Runtime's version, and FORMAT (bump it when memory-embed.ts changes what it writes).
 */
export interface MemoryVectors {
  dir: string;
  corpusFile: string;
  queriesFile: string;
  dims: number;
  sizes: MemorySizes;
  truth: MemoryTruth;
  /** Whether this run made them (false: read from the cache). */
  made: boolean;
  meta: MemoryEmbedResult;
}

const FORMAT = 1;
const EMBED_TIMEOUT_MS = 3 * 3600_000;

export function memoryVectors(ctx: RunContext): Promise<MemoryVectors> {
  return ctx.once('memory-vectors', async () => {
    const sizes = memorySizes(ctx.options.quick);
    const model = await ctx.bertOnnx();
    const hash = createHash('sha256').update(JSON.stringify({ format: FORMAT, model: basename(model), ort: onnxRuntimeVersion(), words: MEMORY_TEXT_WORDS, seeds: [CORPUS_SEED, QUERY_SEED], k: TOP_K, rows: { corpus: sizes.corpus, queries: sizes.queries, exactRows: sizes.exactRows } }));
    hash.update(await readFile(join(REPO_ROOT, 'bench', 'texts.ts')));
    const dir = join(ctx.cacheDir, 'memory-vectors', hash.digest('hex').slice(0, 12));
    const made = !existsSync(join(dir, 'meta.json'));
    if (made) {
      ctx.log(`  embedding ${sizes.corpus} corpus and ${sizes.queries} query texts with the ONNX bert once, into ${dir} (cached for later runs)`);
      const home = await ctx.tempDir('memory-embed');
      await mkdir(join(dir, '..'), { recursive: true });
      const input: MemoryEmbedInput = { model, home, out: dir, corpus: sizes.corpus, queries: sizes.queries, exactRows: sizes.exactRows, batch: 256 };
      const onEvent = (e: unknown) => {
        const { label, done, total } = e as { label: string; done: number; total: number };
        ctx.log(`    ${label}: ${done}/${total} embedded`);
      };
      await runChild<MemoryEmbedInput, MemoryEmbedResult>(MEMORY_CHILD.embed, input, { env: tamedEnv(), timeoutMs: EMBED_TIMEOUT_MS, onEvent });
    } else ctx.log(`  vectors from the cache: ${dir}`);
    const meta = JSON.parse(await readFile(join(dir, 'meta.json'), 'utf8')) as MemoryEmbedResult;
    const truth = JSON.parse(await readFile(join(dir, 'truth.json'), 'utf8')) as MemoryTruth;
    return { dir, corpusFile: join(dir, 'corpus.f32'), queriesFile: join(dir, 'queries.f32'), dims: meta.dims, sizes, truth, made, meta };
  });
}

