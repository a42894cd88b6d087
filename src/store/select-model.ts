import { selectModelFiles, type ModelSelection } from '../formats/index.js';

export type { ModelSelection };
import { assertSafeRepoPath } from './ref.js';

/** The files of one model out of a repo listing (format rules in src/formats), each checked to stay inside the store. */
export function selectSafeModelFiles(paths: readonly string[], variant: string | undefined, what: string): ModelSelection {
  const selection = selectModelFiles(paths, variant, what);
  for (const path of selection.files) assertSafeRepoPath(path, what);
  return selection;
}
