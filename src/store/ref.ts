import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HearthError } from '../errors/index.js';

/** A parsed model reference. `text` is the canonical spelling, stable across processes. */
export type ModelRef =
  | { kind: 'hf-file'; repo: string; path: string; revision: string; text: string }
  | { kind: 'hf-quant'; repo: string; quant: string; revision: string; text: string }
  | { kind: 'hf-repo'; repo: string; revision: string; text: string }
  | { kind: 'url'; url: string; sha256: string | undefined; text: string }
  | { kind: 'local'; path: string; text: string };

export type HubRef = Extract<ModelRef, { repo: string }>;

export const DEFAULT_REVISION = 'main';
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;
const REVISION_SEGMENT = /^[A-Za-z0-9._-]+$/;
const QUANT = /^[A-Za-z0-9_.-]+$/;
// `hf.co/<owner>/<repo>:<quant>` is how Ollama users spell hub refs.
const HUB_PREFIXES = ['hf:', 'hf.co/', 'huggingface.co/'];

/**
 * Parses a user-supplied reference. Aliases resolve first; then `hf:` refs,
 * plain URLs and local paths. Anything that could address a path outside the
 * store (`..`, absolute paths inside an hf ref, NUL bytes) is refused here, so
 * nothing downstream ever joins untrusted text onto a directory.
 */
export interface ParseOptions {
  /**
   * Whether a bare relative name may be looked up on disk to tell a local
   * file from a typo. Off for names from a request: the answer would tell a
   * client which paths exist on the server.
   */
  probeFilesystem?: boolean;
}

export function parseRef(input: string, aliases: Readonly<Record<string, string>> = {}, options: ParseOptions = {}): ModelRef {
  const text = resolveAlias(input, aliases);
  if (text.includes('\0')) throw unsafe(input, 'contains a NUL byte');
  const hubPrefix = HUB_PREFIXES.find((p) => text.startsWith(p));
  if (hubPrefix) return parseHubRef(text.slice(hubPrefix.length), input);
  if (/^https?:\/\//i.test(text)) return parseUrlRef(text, input);
  if (text.startsWith('file:')) return localRef(resolve(fromFileUrl(text, input))); // resolve: no trailing slash on a directory
  if (isAbsolute(text) || /^\.{1,2}[\\/]/.test(text) || text.startsWith('~/') || ((options.probeFilesystem ?? true) && existsSync(text))) {
    return localRef(text.startsWith('~/') ? resolve(homedir(), text.slice(2)) : resolve(text));
  }
  throw new HearthError('REF_INVALID', `unrecognized model reference "${input}"`, {
    details: { ref: input },
    hint: 'use hf:<owner>/<repo>[@<revision>] (the whole model: ONNX with its tokenizer and config, or the default GGUF), hf:<owner>/<repo>/<file>[@<revision>], hf:<owner>/<repo>:<quant or ONNX variant>, an https:// URL, a local file or directory, or a configured alias',
  });
}

/** parseRef for text that may not be a reference (a name, a stored entry's ref); never touches the disk. */
export function tryParseRef(text: string, aliases: Readonly<Record<string, string>> = {}): ModelRef | undefined {
  try {
    return parseRef(text, aliases, { probeFilesystem: false });
  } catch {
    return undefined;
  }
}

/** Validates one repo-relative path (from a ref or from a hub listing) before it is used on disk. */
export function assertSafeRepoPath(path: string, ref = path): string {
  if (path.includes('\0')) throw unsafe(ref, 'contains a NUL byte');
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) throw unsafe(ref, 'absolute paths are not allowed');
  if (path.includes('\\')) throw unsafe(ref, 'backslashes are not allowed in repo paths');
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') throw unsafe(ref, `invalid path segment "${segment}"`);
  }
  return path;
}

export function assertSafeRevision(revision: string, ref = revision): string {
  if (revision.includes('\0')) throw unsafe(ref, 'contains a NUL byte');
  const segments = revision.split('/');
  if (!segments.every((s) => REVISION_SEGMENT.test(s) && s !== '.' && s !== '..')) {
    throw unsafe(ref, `invalid revision "${revision}"`);
  }
  return revision;
}

export function isCommitHash(revision: string): boolean {
  return /^[0-9a-f]{40}$/.test(revision);
}

function parseHubRef(body: string, input: string): HubRef {
  let revision = DEFAULT_REVISION;
  const at = body.lastIndexOf('@');
  if (at >= 0) {
    revision = assertSafeRevision(body.slice(at + 1), input);
    body = body.slice(0, at);
  }
  if (body.startsWith('/')) throw unsafe(input, 'absolute paths are not allowed');
  const [owner = '', nameAndQuant = '', ...rest] = body.split('/');
  const [name = '', quant, ...extra] = nameAndQuant.split(':');
  for (const part of [owner, name]) {
    if (part === '..' || part === '.' || part === '') throw unsafe(input, 'repo id must be <owner>/<name>');
    if (!NAME.test(part) || part.includes('--') || part.includes('..')) {
      throw new HearthError('REF_INVALID', `invalid repo id "${owner}/${name}" in "${input}"`, { details: { ref: input } });
    }
  }
  const repo = `${owner}/${name}`;
  const rev = revision === DEFAULT_REVISION ? '' : `@${revision}`;
  if (extra.length > 0 || (quant !== undefined && rest.length > 0)) {
    throw new HearthError('REF_INVALID', `"${input}": use either a file path or a :<tag> (a GGUF quant such as Q4_K_M, or an ONNX variant such as fp16 or q8), not both`, {
      details: { ref: input },
      hint: `hf:${owner}/${name}/<file>, hf:${owner}/${name}:<tag>, or hf:${owner}/${name} for the whole model`,
    });
  }
  // Ollama's default tag names the repo's default model, as no tag does.
  if (quant !== undefined && quant.toLowerCase() === 'latest') return { kind: 'hf-repo', repo, revision, text: `hf:${repo}${rev}` };
  if (quant !== undefined) {
    if (!QUANT.test(quant)) {
      throw new HearthError('REF_INVALID', `invalid tag "${quant}" in "${input}"`, {
        details: { ref: input },
        hint: 'a tag is a GGUF quant (Q4_K_M, Q8_0…) or an ONNX variant (fp32, fp16, q8, int8, uint8, q4, q4f16, bnb4, or the <t> of model_<t>.onnx)',
      });
    }
    return { kind: 'hf-quant', repo, quant, revision, text: `hf:${repo}:${quant}${rev}` };
  }
  if (rest.length === 0) return { kind: 'hf-repo', repo, revision, text: `hf:${repo}${rev}` };
  const path = assertSafeRepoPath(rest.join('/'), input);
  return { kind: 'hf-file', repo, path, revision, text: `hf:${repo}/${path}${rev}` };
}

function parseUrlRef(text: string, input: string): ModelRef {
  let url: URL;
  try {
    url = new URL(text);
  } catch (error) {
    throw new HearthError('REF_INVALID', `invalid URL "${input}"`, { cause: error, details: { ref: input } });
  }
  // An optional `#sha256=<hex>` pins the content, like a lockfile's integrity field.
  const pinned = /^sha256=([0-9a-f]{64})$/i.exec(url.hash.slice(1))?.[1]?.toLowerCase();
  if (url.hash && !pinned) throw new HearthError('REF_INVALID', `unsupported URL fragment in "${input}" (only #sha256=<hex>)`);
  url.hash = '';
  return { kind: 'url', url: url.toString(), sha256: pinned, text: pinned ? `${url}#sha256=${pinned}` : url.toString() };
}

function localRef(path: string): ModelRef {
  if (path.includes('\0')) throw unsafe(path, 'contains a NUL byte');
  return { kind: 'local', path, text: path };
}

function fromFileUrl(text: string, input: string): string {
  try {
    return fileURLToPath(text);
  } catch (error) {
    throw new HearthError('REF_INVALID', `invalid file URL "${input}"`, { cause: error, details: { ref: input } });
  }
}

function resolveAlias(input: string, aliases: Readonly<Record<string, string>>): string {
  let text = input;
  const seen = new Set<string>();
  while (Object.hasOwn(aliases, text)) {
    if (seen.has(text)) throw new HearthError('CONFIG_INVALID', `alias cycle: ${[...seen, text].join(' -> ')}`);
    seen.add(text);
    text = aliases[text]!;
  }
  return text;
}

function unsafe(ref: string, why: string): HearthError {
  return new HearthError('REF_UNSAFE', `refusing model reference "${ref}": ${why}`, { details: { ref } });
}
