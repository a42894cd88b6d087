import { HearthError } from '../errors/index.js';

const SPLIT = /-(\d{5})-of-(\d{5})\.gguf$/i;

/**
 * Picks the GGUF file(s) carrying a quant tag from a repo listing, as
 * llama.cpp's `-hf repo:quant` does: the tag must stand as its own token in
 * the file name, and a split model (`-00001-of-0000N`) yields all its parts.
 */
export function selectQuantFiles(paths: readonly string[], quant: string, what: string): string[] {
  // Tags contain '_', so only '-', '.' or the end may follow one: Q4_K must not match Q4_K_M.
  const token = new RegExp(`(^|[-_.])${escape(quant)}([-.]|$)`, 'i');
  const matches = paths.filter((p) => p.toLowerCase().endsWith('.gguf') && token.test(basename(p).replace(SPLIT, '').replace(/\.gguf$/i, '')));
  const groups = new Map<string, string[]>();
  for (const path of matches) {
    const key = path.replace(SPLIT, '');
    groups.set(key, [...(groups.get(key) ?? []), path]);
  }
  if (groups.size === 0) {
    const ggufs = paths.filter((p) => p.toLowerCase().endsWith('.gguf'));
    const available = [...new Set(ggufs.map((p) => quantTag(p)).filter(Boolean))];
    const untagged = ggufs.filter((p) => !quantTag(p)).map(basename);
    throw new HearthError('MODEL_NOT_FOUND', `${what}: no GGUF file tagged ${quant}`, {
      details: { quant, available, untagged },
      hint:
        ggufs.length === 0
          ? 'the repo has no GGUF files'
          : [available.length > 0 ? `available quants: ${available.join(', ')}` : '', untagged.length > 0 ? `files without a quant tag in their name: ${untagged.join(', ')} (pull the repo without a tag, or with :latest, for its default)` : '']
              .filter(Boolean)
              .join('; '),
    });
  }
  if (groups.size > 1) {
    throw new HearthError('REF_AMBIGUOUS', `${what}: several GGUF files are tagged ${quant}`, {
      details: { candidates: [...groups.keys()] },
      hint: `name the file: ${[...groups.values()].map((g) => g[0]).join(', ')}`,
    });
  }
  const [group] = [...groups.values()];
  return completeSplit(group!, what);
}

/** A split GGUF must be present in full, ordered by part number. */
function completeSplit(group: string[], what: string): string[] {
  const parts = group.map((p) => ({ p, m: SPLIT.exec(p) })).filter((x) => x.m);
  if (parts.length === 0) return [group.sort()[0]!];
  const total = Number(parts[0]!.m![2]);
  const ordered = parts.sort((a, b) => Number(a.m![1]) - Number(b.m![1])).map((x) => x.p);
  if (ordered.length !== total || parts.some((x, i) => Number(x.m![1]) !== i + 1)) {
    throw new HearthError('MODEL_NOT_FOUND', `${what}: split GGUF is incomplete (${ordered.length} of ${total} parts)`, {
      details: { parts: ordered },
    });
  }
  return ordered;
}

/** The quant tag of a GGUF name, e.g. "Q4_K_M" from "llama-7b.Q4_K_M.gguf". */
export function quantTag(path: string): string | undefined {
  const name = basename(path).replace(SPLIT, '').replace(/\.gguf$/i, '');
  return /(?:^|[-_.])((?:I?Q\d+(?:_[A-Z0-9]+)*)|F16|F32|BF16)$/i.exec(name)?.[1]?.toUpperCase();
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
