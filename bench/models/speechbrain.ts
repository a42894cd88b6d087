import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeSpeechBrainRepo, type SpeechBrainRepoOptions } from '../../test/support/speechbrain-fixture.js';
import { REPO_ROOT } from '../paths.js';

/** The writer and what decides its bytes (the random state, the seed streams): a change to any makes a new repo. */
const SOURCES = [
  join(REPO_ROOT, 'test', 'support', 'speechbrain-fixture.ts'),
  join(REPO_ROOT, 'test', 'support', 'torch-writer.ts'),
  join(REPO_ROOT, 'test', 'support', 'tensor-seed.ts'),
  join(REPO_ROOT, 'src', 'runtime', 'audio', 'ecapa-state.ts'),
];

/**
 * A SpeechBrain speaker repo (spkrec-ecapa-voxceleb's layout) with seeded random weights, cached under the bench
 * cache by its options and the writer's source, written to a temporary folder and renamed into place so an
 * interrupted write is never reused.
 */
export async function cachedSpeechBrainRepo(cacheDir: string, options: SpeechBrainRepoOptions): Promise<string> {
  const hash = createHash('sha256');
  for (const source of SOURCES) hash.update(await readFile(source));
  const dir = join(cacheDir, 'models', `speechbrain-ecapa-${hash.update(JSON.stringify(options)).digest('hex').slice(0, 12)}`);
  if (existsSync(join(dir, 'hyperparams.yaml'))) return dir;
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await writeSpeechBrainRepo(tmp, options);
  await mkdir(join(dir, '..'), { recursive: true });
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
  return dir;
}
