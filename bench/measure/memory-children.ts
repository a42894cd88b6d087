import { join } from 'node:path';
import { REPO_ROOT } from '../paths.js';

/** Paths of the memory scenarios' child processes (M1–M3). */
const child = (file: string) => join(REPO_ROOT, 'bench', 'children', file);

export const MEMORY_CHILD = {
  embed: child('memory-embed.ts'),
  fill: child('memory-fill.ts'),
  open: child('memory-open.ts'),
  rawOpen: child('pglite-open.mjs'),
  query: child('memory-query.ts'),
  addText: child('memory-add-text.ts'),
};
