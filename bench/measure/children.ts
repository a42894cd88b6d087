import { join } from 'node:path';
import { REPO_ROOT } from '../paths.js';

/** Paths of the child-process workers. */
export const CHILD = {
  llamaEmbed: join(REPO_ROOT, 'bench', 'children', 'llama-embed.ts'),
  llamaGenerate: join(REPO_ROOT, 'bench', 'children', 'llama-generate.ts'),
  llamaLoad: join(REPO_ROOT, 'bench', 'children', 'llama-load.mjs'),
  ortEmbed: join(REPO_ROOT, 'bench', 'children', 'ort-embed.ts'),
  transformersEmbed: join(REPO_ROOT, 'bench', 'children', 'transformers-embed.ts'),
  loadClient: join(REPO_ROOT, 'bench', 'children', 'load-client.ts'),
  fakeHub: join(REPO_ROOT, 'bench', 'children', 'fake-hub-server.ts'),
};

/** Start-up, model load and warm-up allowance on top of a measurement window. */
export const CHILD_OVERHEAD_MS = 90_000;
