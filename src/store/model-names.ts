import { createHash } from 'node:crypto';
import { basename, dirname } from 'node:path';
import { quantTag } from '../formats/quant.js';
import { tryParseRef, type ModelRef } from './ref.js';

/**
 * Ollama-style names for stored models: `<name>:<tag>`, lower case.
 *
 * - a hub repo is named after the repo, without a `-GGUF`/`-ONNX` suffix:
 *   `hf:TheBloke/Llama-2-7B-GGUF` is `llama-2-7b:latest`, and `:Q4_K_M` makes the tag `q4_k_m`;
 * - a GGUF file (on the hub, at a URL, or local) is named after its file, with
 *   the quant its name carries as the tag: `tinyllama-1.1b.Q8_0.gguf` is
 *   `tinyllama-1.1b:q8_0`, and `stories260K.gguf` is `stories260k:latest`;
 * - a local directory is named after the directory;
 * - a revision other than `main` is appended to the tag (`repo:latest-v2`).
 *
 * When two models would get the same name, both are named by their qualified
 * form instead: the hub owner, the URL's host or the parent directory before
 * a slash (`thebloke/llama-2-7b:latest`). The qualified form always works.
 *
 * A model an alias points at is shown by the alias, the operator's own name
 * for it; its derived names still resolve.
 */
export interface DerivedName {
  short: string;
  qualified: string;
}

const MODEL_SUFFIX = /[-_.](gguf|onnx|ggml)$/i;
const SPLIT = /-\d{5}-of-\d{5}$/i;

export function deriveName(ref: ModelRef): DerivedName {
  switch (ref.kind) {
    case 'hf-repo':
    case 'hf-quant': {
      const [owner, repo] = ref.repo.split('/') as [string, string];
      const tag = ref.kind === 'hf-quant' ? ref.quant : 'latest';
      return named(owner, repo.replace(MODEL_SUFFIX, ''), withRevision(tag, ref.revision));
    }
    case 'hf-file': {
      const [owner, repo] = ref.repo.split('/') as [string, string];
      if (ref.path.toLowerCase().endsWith('.gguf')) {
        const { stem, tag } = ggufName(ref.path);
        return named(owner, stem, withRevision(tag, ref.revision));
      }
      return named(owner, repo.replace(MODEL_SUFFIX, ''), withRevision(fileStem(ref.path), ref.revision));
    }
    case 'url': {
      const url = new URL(ref.url);
      const { stem, tag } = ggufName(decodeURIComponent(url.pathname));
      return named(url.host, stem, tag);
    }
    case 'local': {
      const file = ref.path.toLowerCase().endsWith('.gguf');
      const { stem, tag } = file ? ggufName(ref.path) : { stem: basename(ref.path), tag: 'latest' };
      return named(basename(dirname(ref.path)) || 'local', stem, tag);
    }
  }
}

/** `name` as a request may spell it: case-insensitive, and `:latest` when no tag is given. */
export function normalizeName(name: string): string {
  const lower = name.trim().toLowerCase();
  return lower.includes(':') ? lower : `${lower}:latest`;
}

/**
 * The names of every model hearth knows, both ways: a model's display name,
 * and the reference behind a name a request uses.
 */
export class NameIndex {
  readonly #byRef = new Map<string, string>();
  readonly #byName = new Map<string, string>();
  /** Reference text → the first alias that points at it. */
  readonly #aliasOf = new Map<string, string>();
  readonly #aliases: Readonly<Record<string, string>>;

  /**
   * `defined` names the models made by create or copy: they resolve like
   * aliases, but the model under them keeps its own name in lists (a copy
   * is another model, as in Ollama; an alias is the model's new name).
   */
  constructor(refs: readonly ModelRef[], aliases: Readonly<Record<string, string>> = {}, defined: readonly string[] = []) {
    this.#aliases = aliases;
    for (const alias of Object.keys(aliases)) {
      if (defined.includes(alias)) continue;
      const target = tryParseRef(alias, aliases);
      if (target && !this.#aliasOf.has(target.text)) this.#aliasOf.set(target.text, alias);
    }
    const unique = [...new Map(refs.map((r) => [r.text, r])).values()];
    const derived = unique.map((ref) => ({ ref, name: deriveName(ref) }));
    const counts = new Map<string, number>();
    for (const { name } of derived) counts.set(name.short, (counts.get(name.short) ?? 0) + 1);
    const taken = new Set<string>();
    for (const { ref, name } of derived) {
      let display = counts.get(name.short) === 1 ? name.short : name.qualified;
      // Two refs with the same qualified name (revisions of one file differ only in the ref text).
      if (taken.has(display)) display = `${display}-${createHash('sha256').update(ref.text).digest('hex').slice(0, 8)}`;
      taken.add(display);
      this.#byRef.set(ref.text, display);
      this.#byName.set(display, ref.text);
      this.#byName.set(name.qualified, ref.text);
    }
  }

  /** The name to show for a canonical reference: its alias if it has one, else its derived name. */
  nameOf(refText: string): string | undefined {
    return this.#aliasOf.get(refText) ?? this.#byRef.get(refText);
  }

  /** True when an alias points at this reference (lists show it under the alias). */
  aliased(refText: string): boolean {
    return this.#aliasOf.has(refText);
  }

  /**
   * What a name stands for: an alias name (returned as is, for the parser to
   * resolve), or the reference behind a derived name; undefined otherwise.
   */
  lookup(name: string): string | undefined {
    if (Object.hasOwn(this.#aliases, name)) return name;
    // Names are case-insensitive, and `:latest` is implied, as in Ollama; an alias is found the same way.
    const wanted = normalizeName(name);
    const alias = Object.keys(this.#aliases).find((a) => normalizeName(a) === wanted);
    return alias ?? this.#byName.get(wanted);
  }

  /** Every display name with its reference. */
  entries(): Array<{ name: string; ref: string }> {
    return [...this.#byRef.keys()].map((ref) => ({ name: this.nameOf(ref)!, ref }));
  }
}

function named(scope: string, name: string, tag: string): DerivedName {
  const short = `${clean(name)}:${clean(tag)}`;
  return { short, qualified: `${clean(scope)}/${short}` };
}

function ggufName(path: string): { stem: string; tag: string } {
  const stem = fileStem(path).replace(SPLIT, '');
  const quant = quantTag(`${stem}.gguf`);
  if (!quant) return { stem, tag: 'latest' };
  const bare = stem.slice(0, stem.length - quant.length).replace(/[-_.]+$/, '');
  return { stem: bare || stem, tag: quant };
}

function fileStem(path: string): string {
  return basename(path).replace(/\.(gguf|onnx|bin|safetensors)$/i, '');
}

function withRevision(tag: string, revision: string): string {
  if (revision === 'main') return tag;
  return `${tag}-${/^[0-9a-f]{40}$/.test(revision) ? revision.slice(0, 12) : revision}`;
}

/** Names keep letters, digits, '.', '_' and '-'; anything else becomes '-'. */
function clean(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'model';
}
