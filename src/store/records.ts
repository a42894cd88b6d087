import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { readdir, readFile, rm, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ModelSelection } from '../formats/index.js';
import { silentLogger, type Logger } from '../log/logger.js';
import { errnoOf, isUnwritable, writeFileAtomic } from './fs-utils.js';
import { assertSafeRepoPath, isCommitHash } from './ref.js';

/**
 * A file's identity as the filesystem reports it, taken when the file was
 * hashed: if any of these differ later, the bytes may have changed since.
 * (ctime cannot be set from user space, so a write that restores mtime still shows.)
 */
export interface FileStamp {
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
}

export function stampOf(info: Stats): FileStamp {
  return { size: info.size, mtimeMs: info.mtimeMs, ctimeMs: info.ctimeMs, ino: info.ino };
}

export function sameStamp(a: FileStamp | undefined, b: FileStamp): boolean {
  return a !== undefined && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs && a.ino === b.ino;
}

/** What hearth knows about a blob beyond the cache layout itself. */
export interface BlobRecord {
  verifiedAt?: string;
  lastUsedAt?: string;
  /** The blob file as it was when it was last hashed and matched its name. */
  verifiedStamp?: FileStamp;
}

/** A local file registered in place: never copied, re-hashed when its size or mtime change. */
export interface LocalRecord extends BlobRecord {
  /** The file, or the directory a multi-file model was registered from. */
  path: string;
  /** The file's size, or the total of a directory's selected files. */
  size: number;
  mtimeMs: number;
  /** For a file: its ctime and inode when it was last hashed (see FileStamp). */
  ctimeMs?: number;
  ino?: number;
  /** The file's sha256, or the primary file's for a directory. */
  digest: string;
  registeredAt: string;
  /** For a directory: every selected file, primary first, with paths relative to it. */
  files?: LocalFileRecord[];
}

export interface LocalFileRecord {
  path: string;
  size: number;
  mtimeMs: number;
  ctimeMs?: number;
  ino?: number;
  digest: string;
  /** When this file was last hashed and matched; the record's verifiedAt when absent. */
  verifiedAt?: string;
}

/**
 * Proof that a multi-file selection of one snapshot is complete: written after
 * every blob is verified and every snapshot link is in place, and before the
 * ref moves. It lives in hearth's records, not in the HF `snapshots/` tree,
 * so huggingface_hub never sees a file it did not expect. A commit's content
 * never changes, so the record stays true for as long as the links resolve.
 *
 *   records/snapshots/<models--owner--repo>/<commit>/<selection>.json
 */
export interface CompletionRecord {
  format: 'hearth-snapshot';
  version: 1;
  repo: string;
  commit: string;
  /** undefined for `hf:<owner>/<repo>`; the `:<tag>` otherwise, as the user spelled it. */
  tag: string | undefined;
  kind: ModelSelection['format'];
  /** Every selected file, primary first. */
  files: Array<{ path: string; digest: string; size: number }>;
  completedAt: string;
}

/**
 * hearth's own bookkeeping under HEARTH_HOME/records, one small JSON file per
 * blob, local registration or completed snapshot selection, each replaced atomically so concurrent processes never
 * corrupt one another (last write wins, which is right for timestamps).
 *
 * Timestamps and stamps (`noteBlob`, `noteLocal`) are bookkeeping: a home that
 * cannot be written (read-only mount, full disk) must never stop a model from
 * loading, so they log a warning and carry on. Completion records are not
 * bookkeeping; their writers decide what a failure means.
 */
export class Records {
  readonly #blobs: string;
  readonly #locals: string;
  readonly #snapshots: string;
  readonly #logger: Logger;
  /**
   * The errno codes this instance has warned about: one warning per cause, not
   * one per file. Forgotten once a write succeeds again, so a home that
   * recovers and then fails again (a disk that fills up twice) is warned about again.
   */
  readonly #warned = new Set<string>();

  constructor(home: string, logger: Logger = silentLogger) {
    this.#blobs = join(home, 'records', 'blobs');
    this.#locals = join(home, 'records', 'local');
    this.#snapshots = join(home, 'records', 'snapshots');
    this.#logger = logger;
  }

  /** The completion record of a selection (`tag` undefined = the repo's default model) in a snapshot. */
  async completion(dirId: string, commit: string, tag: string | undefined): Promise<CompletionRecord | undefined> {
    if (!isCommitHash(commit)) return undefined;
    return validCompletion(await readJson<CompletionRecord>(join(this.#snapshots, safeId(dirId), commit, selectionFile(tag))));
  }

  async putCompletion(dirId: string, record: CompletionRecord): Promise<void> {
    if (!isCommitHash(record.commit)) throw new Error(`not a commit: ${record.commit}`);
    await writeFileAtomic(join(this.#snapshots, safeId(dirId), record.commit, selectionFile(record.tag)), JSON.stringify(record, null, 1));
  }

  /** Every completion record of one repo folder, or of all of them. */
  async listCompletions(dirId?: string): Promise<Array<{ dirId: string; record: CompletionRecord; path: string }>> {
    const out: Array<{ dirId: string; record: CompletionRecord; path: string }> = [];
    const ids = dirId ? [safeId(dirId)] : await readdir(this.#snapshots).catch(() => [] as string[]);
    for (const id of ids) {
      for (const commit of (await readdir(join(this.#snapshots, id)).catch(() => [] as string[])).filter(isCommitHash)) {
        for (const name of (await readdir(join(this.#snapshots, id, commit)).catch(() => [] as string[])).filter((n) => n.endsWith('.json'))) {
          const path = join(this.#snapshots, id, commit, name);
          const record = validCompletion(await readJson<CompletionRecord>(path));
          if (record && record.commit === commit) out.push({ dirId: id, record, path });
        }
      }
    }
    return out;
  }

  /** Forgets one selection's completion record. */
  async removeCompletion(dirId: string, commit: string, tag: string | undefined): Promise<void> {
    if (isCommitHash(commit)) await unlink(join(this.#snapshots, safeId(dirId), commit, selectionFile(tag))).catch(() => undefined);
  }

  /** Forgets every completion record of a repo folder. */
  async removeCompletions(dirId: string): Promise<void> {
    await rm(join(this.#snapshots, safeId(dirId)), { recursive: true, force: true });
  }

  async blob(digest: string): Promise<BlobRecord> {
    return (await readJson<BlobRecord>(join(this.#blobs, `${hex(digest)}.json`))) ?? {};
  }

  async updateBlob(digest: string, patch: BlobRecord): Promise<void> {
    const path = join(this.#blobs, `${hex(digest)}.json`);
    await writeFileAtomic(path, JSON.stringify({ ...(await readJson<BlobRecord>(path)), ...patch }));
  }

  /** Bookkeeping on a blob (verified-at, last-used, stamp): best effort, see the class comment. Undefined fields are removed. */
  async noteBlob(digest: string, patch: BlobRecord): Promise<boolean> {
    return this.#bestEffort(() => this.updateBlob(digest, patch), 'blob', digest);
  }

  /** A local registration's record, written best effort: the registration itself stands without it. */
  async noteLocal(record: LocalRecord): Promise<boolean> {
    return this.#bestEffort(() => this.putLocal(record), 'local', record.path);
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

  /** A bookkeeping write: a home that cannot be written (read-only, full) is warned about; any other failure is a bug, and thrown. */
  async #bestEffort(write: () => Promise<void>, kind: string, key: string): Promise<boolean> {
    try {
      await write();
      this.#warned.clear();
      return true;
    } catch (error) {
      if (!isUnwritable(error)) throw error;
      const code = errnoOf(error)!;
      const fields = { err: (error as Error).message, kind, key, records: dirname(this.#blobs) };
      if (this.#warned.has(code)) this.#logger.debug(fields, 'bookkeeping write skipped');
      else {
        this.#warned.add(code);
        this.#logger.warn(fields, "cannot write hearth's records; verified-at and last-used are not kept, models still load");
      }
      return false;
    }
  }

  #localPath(path: string): string {
    return join(this.#locals, `${createHash('sha256').update(path).digest('hex').slice(0, 32)}.json`);
  }
}

/** `default.json` for the repo's default model, `tag-<tag>.json` for a :tag (tags match case-insensitively). */
function selectionFile(tag: string | undefined): string {
  if (tag === undefined) return 'default.json';
  if (!/^[A-Za-z0-9_.-]+$/.test(tag)) throw new Error(`not a tag: ${tag}`);
  return `tag-${tag.toLowerCase()}.json`;
}

function safeId(dirId: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(dirId)) throw new Error(`not a repo folder: ${dirId}`);
  return dirId;
}

/** A record is only trusted when it is well-formed: it decides which paths a model is read from. */
function validCompletion(record: CompletionRecord | undefined): CompletionRecord | undefined {
  if (record?.format !== 'hearth-snapshot' || record.version !== 1 || typeof record.repo !== 'string' || !isCommitHash(record.commit)) return undefined;
  if (!Array.isArray(record.files) || record.files.length === 0 || (record.kind !== 'onnx' && record.kind !== 'gguf')) return undefined;
  try {
    for (const f of record.files) {
      assertSafeRepoPath(f.path);
      hex(f.digest);
    }
  } catch {
    return undefined;
  }
  return record;
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
