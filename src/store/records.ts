import { createHash } from 'node:crypto';
import { readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './fs-utils.js';

/** What hearth knows about a blob beyond the cache layout itself. */
export interface BlobRecord {
  verifiedAt?: string;
  lastUsedAt?: string;
}

/** A local file registered in place: never copied, re-hashed when its size or mtime change. */
export interface LocalRecord extends BlobRecord {
  path: string;
  size: number;
  mtimeMs: number;
  digest: string;
  registeredAt: string;
}

/**
 * hearth's own bookkeeping under HEARTH_HOME/records, one small JSON file per
 * blob or local file, each replaced atomically so concurrent processes never
 * corrupt one another (last write wins, which is right for timestamps).
 */
export class Records {
  readonly #blobs: string;
  readonly #locals: string;

  constructor(home: string) {
    this.#blobs = join(home, 'records', 'blobs');
    this.#locals = join(home, 'records', 'local');
  }

  async blob(digest: string): Promise<BlobRecord> {
    return (await readJson<BlobRecord>(join(this.#blobs, `${hex(digest)}.json`))) ?? {};
  }

  async updateBlob(digest: string, patch: BlobRecord): Promise<void> {
    const path = join(this.#blobs, `${hex(digest)}.json`);
    await writeFileAtomic(path, JSON.stringify({ ...(await readJson<BlobRecord>(path)), ...patch }));
  }

  async local(path: string): Promise<LocalRecord | undefined> {
    return readJson<LocalRecord>(this.#localPath(path));
  }

  async putLocal(record: LocalRecord): Promise<void> {
    await writeFileAtomic(this.#localPath(record.path), JSON.stringify(record));
  }

  async removeLocal(path: string): Promise<boolean> {
    return unlink(this.#localPath(path)).then(
      () => true,
      () => false,
    );
  }

  async listLocal(): Promise<LocalRecord[]> {
    const names = await readdir(this.#locals).catch(() => [] as string[]);
    const records = await Promise.all(names.filter((n) => n.endsWith('.json')).map((n) => readJson<LocalRecord>(join(this.#locals, n))));
    return records.filter((r): r is LocalRecord => r !== undefined);
  }

  #localPath(path: string): string {
    return join(this.#locals, `${createHash('sha256').update(path).digest('hex').slice(0, 32)}.json`);
  }
}

function hex(digest: string): string {
  if (!/^[0-9a-f]{40,64}$/.test(digest)) throw new Error(`not a digest: ${digest}`);
  return digest;
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}
