import { access, readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { HearthError, isHearthError } from '../errors/index.js';
import { errnoOf, fsError, writeFileAtomic, writeFileExclusive } from '../store/fs-utils.js';
import { decodeSpace, encodeSpace } from './space-file.js';
import { assertSpaceName } from './space-name.js';
import type { SpaceRecord } from './space-record.js';

/** A space on disk: its record, or why it cannot be read (listed, never deleted behind the user's back). */
export type SpaceListing = { name: string; record: SpaceRecord; error?: undefined } | { name: string; record?: undefined; error: HearthError };

/**
 * Spaces as files, `$HEARTH_HOME/spaces/<name>.json`, in the export format:
 * a space can be copied by hand and is checked on every read. Creation is
 * atomic and exclusive across processes (written aside, then hard-linked
 * into place, which fails if the name is taken), so two creators of one name
 * never overwrite each other.
 */
export class SpaceRegistry {
  constructor(readonly dir: string) {}

  path(name: string): string {
    return join(this.dir, `${assertSpaceName(name)}.json`);
  }

  async get(name: string): Promise<SpaceRecord> {
    const path = this.path(name);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') throw notFound(name, error);
      throw fsError(error, 'read', path);
    }
    const record = decodeSpace(text, path);
    if (record.name !== name) {
      throw new HearthError('SPACE_FILE_INVALID', `${path} holds the space "${record.name}", not "${name}"`, { details: { path, name: record.name } });
    }
    return record;
  }

  async list(): Promise<SpaceListing[]> {
    let names: string[];
    try {
      names = (await readdir(this.dir)).filter((n) => n.endsWith('.json') && !n.startsWith('.')).map((n) => n.slice(0, -'.json'.length));
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') return [];
      throw fsError(error, 'read', this.dir);
    }
    const listings: SpaceListing[] = [];
    for (const name of names.sort()) {
      try {
        listings.push({ name, record: await this.get(name) });
      } catch (error) {
        if (!isHearthError(error)) throw error;
        listings.push({ name, error });
      }
    }
    return listings;
  }

  /** SPACE_EXISTS (or SPACE_NAME_INVALID) now, before any work is done for a name that cannot be stored. */
  async assertFree(name: string): Promise<void> {
    const path = this.path(name);
    try {
      await access(path);
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') return;
      throw fsError(error, 'read', path);
    }
    throw exists(name, undefined);
  }

  /** Stores a new space; SPACE_EXISTS when the name is taken, here or by another process at the same moment. */
  async create(record: SpaceRecord): Promise<void> {
    if ((await writeFileExclusive(this.path(record.name), encodeSpace(record))) === 'exists') throw exists(record.name, undefined);
  }

  /** Stores a space, replacing one of the same name (import --force). */
  async put(record: SpaceRecord): Promise<void> {
    await writeFileAtomic(this.path(record.name), encodeSpace(record));
  }

  async remove(name: string): Promise<void> {
    const path = this.path(name);
    try {
      await unlink(path);
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') throw notFound(name, error);
      throw fsError(error, 'remove', path);
    }
  }
}

function notFound(name: string, cause: unknown): HearthError {
  return new HearthError('SPACE_NOT_FOUND', `no embedding space named "${name}"`, { cause, details: { space: name }, hint: 'hearth space ls lists them; hearth space create NAME --model REF makes one' });
}

function exists(name: string, cause: unknown): HearthError {
  return new HearthError('SPACE_EXISTS', `an embedding space named "${name}" already exists`, {
    cause,
    details: { space: name },
    hint: `choose another name, or remove it first (hearth space rm ${name})`,
  });
}
