import { readFile } from 'node:fs/promises';
import { relative, resolve, sep } from 'node:path';
import { HearthError } from '../../../errors/index.js';
import { pathKind, walkFolder } from '../../../jobs/ingest/discover.js';
import type { DocumentInput } from '../../../memory/memory.js';
import { fsError } from '../../../store/fs-utils.js';

/** How much of a file is looked at for a NUL byte, as git and grep tell binary files from text. */
const SNIFF_BYTES = 8 * 1024;

/** One document to come: read only when its batch is, so a large folder is never all in memory at once. */
export interface PendingDocument {
  /** What the user knows it by: a path relative to the current folder, "stdin" or "--text". */
  label: string;
  /** Its document id when known before reading (files); stdin and --text default to their text's sha256. */
  id: string | undefined;
  load(): Promise<DocumentInput | { skipped: string }>;
}

export interface SourceOptions {
  text?: string | undefined;
  id?: string | undefined;
  metadata: Record<string, unknown>;
  cwd: string;
  stdin: NodeJS.ReadableStream;
}

/**
 * The documents that `hearth memory add`'s arguments name, in order: each
 * file, each regular file under each folder (dot-files and dot-folders
 * left out), stdin for `-`, and `--text`. Every argument is checked before
 * anything is read, so a typo fails the command before a batch is written.
 */
export async function gatherDocuments(paths: readonly string[], options: SourceOptions): Promise<PendingDocument[]> {
  if (paths.length === 0 && options.text === undefined) {
    throw new HearthError('USAGE', 'nothing to add: give files, folders, - (stdin) or --text', { hint: 'hearth memory add notes ./docs' });
  }
  if (options.text !== undefined && options.text.trim() === '') throw new HearthError('USAGE', '--text is empty: a document needs some text');
  if (paths.filter((p) => p === '-').length > 1) throw new HearthError('USAGE', '- (stdin) can be given only once');

  const pending: PendingDocument[] = [];
  const seen = new Set<string>();
  let fromFolder = false;
  for (const path of paths) {
    if (path === '-') {
      pending.push({ label: 'stdin', id: undefined, load: async () => ({ text: await readStdin(options.stdin), metadata: { ...options.metadata } }) });
      continue;
    }
    const absolute = resolve(options.cwd, path);
    const kind = await pathKind(absolute, path);
    const files = kind === 'file' ? [absolute] : await walkFolder(absolute);
    if (kind === 'folder') fromFolder = true;
    for (const file of files) {
      // A file named twice (itself and inside its folder) is one document.
      if (seen.has(file)) continue;
      seen.add(file);
      const id = relative(options.cwd, file).split(sep).join('/');
      pending.push({ label: id, id, load: () => loadFile(file, id, options.metadata) });
    }
  }
  if (options.text !== undefined) {
    const text = options.text;
    pending.push({ label: '--text', id: undefined, load: async () => ({ text, metadata: { ...options.metadata } }) });
  }

  if (options.id !== undefined) {
    if (pending.length !== 1 || fromFolder) throw new HearthError('USAGE', '--id names one document: give it with one file, - (stdin) or --text, and nothing else');
    if (options.id.length === 0) throw new HearthError('USAGE', '--id is empty');
    const only = pending[0]!;
    pending[0] = { label: only.label, id: options.id, load: async () => withId(await only.load(), options.id!) };
  }
  return pending;
}

function withId(loaded: DocumentInput | { skipped: string }, id: string): DocumentInput | { skipped: string } {
  return 'skipped' in loaded ? loaded : { ...loaded, id };
}

async function loadFile(file: string, id: string, metadata: Record<string, unknown>): Promise<DocumentInput | { skipped: string }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw fsError(error, 'read', file);
  }
  if (bytes.subarray(0, SNIFF_BYTES).includes(0)) return { skipped: 'binary (a NUL byte in its first 8 KiB)' };
  const text = decode(bytes);
  if (text.trim() === '') return { skipped: 'empty' };
  return { id, text, metadata: { path: id, ...metadata } };
}

async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  const bytes = Buffer.concat(chunks);
  if (bytes.subarray(0, SNIFF_BYTES).includes(0)) throw new HearthError('USAGE', 'stdin is binary (a NUL byte in its first 8 KiB), not text');
  const text = decode(bytes);
  if (text.trim() === '') throw new HearthError('USAGE', 'stdin is empty: a document needs some text');
  return text;
}

/** UTF-8 without a byte-order mark, which would otherwise become part of the first chunk's text. */
function decode(bytes: Buffer): string {
  return new TextDecoder('utf-8').decode(bytes);
}
