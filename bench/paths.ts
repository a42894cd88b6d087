import { homedir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (bench/ lives directly under it). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** hearth's CLI entry, run from source so the harness needs no build step. */
export const HEARTH_ENTRY = join(REPO_ROOT, 'src', 'cli', 'entry.ts');

/** Where run results are written (gitignored). */
export const RESULTS_DIR = join(REPO_ROOT, 'bench', 'results');

/** The harness's cache root, outside the repository: generated models and peer builds. */
export function benchCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME !== '' ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(base, 'hearth', 'bench');
}

/** Node arguments that run a TypeScript file from source. */
export const TSX_ARGS = ['--import', 'tsx'];
