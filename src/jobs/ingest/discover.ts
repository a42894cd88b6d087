import { readdir, realpath, stat } from 'node:fs/promises';
import { extname, isAbsolute, join, relative, resolve } from 'node:path';
import { glob, isDynamicPattern } from 'tinyglobby';
import { HearthError } from '../../errors/index.js';
import { fsError } from '../../store/fs-utils.js';
import { SOURCE_EXTENSIONS } from './read-source.js';

export interface DiscoverOptions {
  cwd: string;
  /** Only files under these folders may be named (the server's HEARTH_INGEST_ROOTS); unset: any. */
  roots?: readonly string[] | undefined;
}

/**
 * The files that `hearth ingest`'s paths name, absolute, sorted and each
 * once: a file as it is (whatever its extension: it is read as text unless
 * its format is known), and from folders and globs only the formats hearth
 * reads, so `./docs` or `**\/*` never feeds it images. Dot-files and
 * dot-folders are left out, as git and the shells' globs do. A path that
 * names nothing fails before anything is queued.
 */
export async function discoverFiles(paths: readonly string[], options: DiscoverOptions): Promise<string[]> {
  if (paths.length === 0) throw new HearthError('USAGE', 'nothing to ingest: give files, folders or globs', { hint: 'hearth ingest ./docs --collection notes' });
  const roots = options.roots && (await Promise.all(options.roots.map((r) => realpath(r).catch(() => resolve(r)))));
  const found = new Set<string>();
  for (const given of paths) {
    const files = isDynamicPattern(given) ? await globbed(given, options.cwd) : await named(given, options.cwd);
    for (const file of files) {
      if (roots) await assertInside(roots, file, given);
      found.add(file);
    }
  }
  return [...found].sort();
}

async function globbed(pattern: string, cwd: string): Promise<string[]> {
  const files = await glob([pattern], { cwd, absolute: true, onlyFiles: true, dot: false, followSymbolicLinks: false, expandDirectories: false });
  const readable = files.filter(isSourceFile);
  if (readable.length === 0) throw new HearthError('USAGE', `${pattern} matches no file hearth reads (${SOURCE_EXTENSIONS.join(' ')})`, { details: { path: pattern } });
  return readable;
}

async function named(given: string, cwd: string): Promise<string[]> {
  const absolute = resolve(cwd, given);
  if ((await pathKind(absolute, given)) === 'file') return [absolute];
  const files = (await walkFolder(absolute)).filter(isSourceFile);
  if (files.length === 0) throw new HearthError('USAGE', `${given} holds no file hearth reads (${SOURCE_EXTENSIONS.join(' ')})`, { details: { path: given } });
  return files;
}

/** Whether a path a user gave names a file or a folder; anything else, or nothing, is a USAGE error naming it as given. */
export async function pathKind(absolute: string, given: string): Promise<'file' | 'folder'> {
  let info;
  try {
    info = await stat(absolute);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new HearthError('USAGE', `no such file or folder: ${given}`, { cause: error, details: { path: given } });
    throw fsError(error, 'read', absolute);
  }
  if (info.isFile()) return 'file';
  if (info.isDirectory()) return 'folder';
  throw new HearthError('USAGE', `${given} is neither a file nor a folder`, { details: { path: given } });
}

function isSourceFile(file: string): boolean {
  return SOURCE_EXTENSIONS.includes(extname(file).toLowerCase());
}

/** A path given to a server must stay under its roots, links resolved: a client never reads what the operator did not share. */
async function assertInside(roots: readonly string[], file: string, given: string): Promise<void> {
  const real = await realpath(file).catch(() => file);
  const inside = roots.some((root) => {
    const rel = relative(root, real);
    return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
  });
  if (!inside) throw new HearthError('PATH_NOT_ALLOWED', `${given} is outside the folders this server ingests from (HEARTH_INGEST_ROOTS)`, { details: { path: given } });
}

/**
 * Every regular file under a folder, sorted, without dot-files or anything
 * under a dot-folder (.git, .venv). Hand-written: Node 20's recursive
 * readdir cannot leave a folder out, so it would read all of .git first.
 * Symbolic links are not followed (a link to a parent folder would never end).
 */
export async function walkFolder(folder: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (error) {
    throw fsError(error, 'read the folder', folder);
  }
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (entry.name.startsWith('.')) continue;
    const path = join(folder, entry.name);
    if (entry.isDirectory()) files.push(...(await walkFolder(path)));
    else if (entry.isFile()) files.push(path);
  }
  return files;
}
