import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HearthError, isHearthError } from '../errors/index.js';
import { hubRepoDir, refPath, snapshotPath, urlRepoDir, type RepoDir } from './layout.js';
import { selectSafeModelFiles, type ModelSelection } from './select-model.js';
import { Records } from './records.js';
import { isCommitHash, type HubRef, type ModelRef } from './ref.js';
import { readSnapshot, snapshotFile, type SnapshotFile } from './scan.js';
import type { ResolvedModel, StoredFile } from './types.js';

export interface CacheLocation {
  hubCache: string;
  home: string;
}

/** Files every ONNX encoder needs besides its graph; a foreign snapshot without them is not a model yet. */
const FOREIGN_ONNX_REQUIRED = ['config.json', 'tokenizer.json'];

/**
 * Resolves a reference from disk alone: refs/ gives the commit, the snapshot
 * gives the files. Never touches the network. Undefined when not cached.
 */
export async function resolveCached(ref: ModelRef, where: CacheLocation): Promise<ResolvedModel | undefined> {
  switch (ref.kind) {
    case 'hf-file':
    case 'hf-quant':
    case 'hf-repo': {
      const dir = hubRepoDir(where.hubCache, ref.repo);
      const commit = await commitFor(dir, ref.revision);
      if (!commit) return undefined;
      const files = ref.kind === 'hf-file' ? await storedFiles(dir, commit, [ref.path]) : await selectionFiles(ref, dir, commit, where);
      return files && { ref: ref.text, kind: 'hub', repo: ref.repo, revision: ref.revision, commit, files, primary: files[0]! };
    }
    case 'url': {
      const dir = urlRepoDir(where.home, ref.url);
      const commit = await commitFor(dir, 'main');
      if (!commit || (ref.sha256 && commit !== ref.sha256)) return undefined;
      const paths = (await readSnapshot(dir, commit))?.map((f) => f.path);
      const files = paths && (await storedFiles(dir, commit, paths));
      return files && { ref: ref.text, kind: 'url', commit, files, primary: files[0]! };
    }
    case 'local':
      return undefined; // local files are resolved by registration, which needs hashing
  }
}

/**
 * The files of a `hf:<owner>/<repo>` or `:<tag>` selection in one snapshot.
 * hearth's own pulls leave a completion record (written after every blob is
 * verified and linked, before the ref moves): with one, exactly its files are
 * the model, and a missing or re-pointed link means "not cached".
 */
async function selectionFiles(ref: Exclude<HubRef, { kind: 'hf-file' }>, dir: RepoDir, commit: string, where: CacheLocation): Promise<StoredFile[] | undefined> {
  const tag = ref.kind === 'hf-quant' ? ref.quant : undefined;
  const record = await new Records(where.home).completion(dir.id, commit, tag);
  if (record) {
    const files = await storedFiles(dir, commit, record.files.map((f) => f.path));
    if (!files || files.some((f, i) => f.digest !== undefined && f.digest !== record.files[i]!.digest)) return undefined;
    // A copy (where symlinks fail) was made from the verified blob the record names.
    return files.map((f, i) => ({ ...f, digest: f.digest ?? record.files[i]!.digest }));
  }
  const snapshot = await readSnapshot(dir, commit);
  return snapshot && foreignSelection(ref.text, tag, snapshotInHand(dir, commit, snapshot));
}

/**
 * A snapshot without a completion record was written by another tool
 * (huggingface_hub, an older hearth), or by a hearth pull that has not
 * finished. Nothing records what the hub listed, so the same selection runs
 * over the files that are there. A GGUF is self-contained, and a split one
 * must have all its parts. An ONNX graph alone is not a usable model: it also
 * needs config.json, tokenizer.json and, when modules.json names a Pooling
 * module, that module's config.json — without them the backend would fail, or
 * pool differently from the model's authors. Accepting a snapshot only when
 * all of those are present, and only when no link dangles, keeps a
 * half-written foreign snapshot unresolved. hearth's own pulls link the ONNX
 * graph last, after every other selected file, so an interrupted pull never
 * passes this test before it is complete. (External-data files cannot be
 * checked this way: only the hub listing says whether a graph has them, and
 * a foreign cache does not keep it.)
 */
export async function foreignSelection(what: string, tag: string | undefined, snapshot: SnapshotInHand): Promise<StoredFile[] | undefined> {
  let selection: ModelSelection;
  try {
    selection = selectSafeModelFiles(snapshot.files.map((f) => f.path), tag, what);
  } catch (error) {
    // From a cache, a model that is absent means "not cached", not "does not exist".
    if (isHearthError(error, 'MODEL_NOT_FOUND')) return undefined;
    throw error;
  }
  if (selection.format === 'onnx') {
    const pooling = selection.files.includes('modules.json') ? await snapshot.poolingConfigs() : [];
    const required = [...FOREIGN_ONNX_REQUIRED, ...pooling];
    if (!required.every((p) => selection.files.includes(p))) return undefined;
  }
  const byPath = new Map(snapshot.files.map((f) => [f.path, f]));
  const files: StoredFile[] = [];
  for (const path of selection.files) {
    const file = byPath.get(path);
    if (file?.size === undefined) return undefined; // a dangling link: not a model yet
    files.push({ ...file, size: file.size });
  }
  return files;
}

/**
 * A snapshot's entries as read once (scan.ts readSnapshot), for selections
 * that run over them without walking the snapshot again: `hearth ls` tries
 * every tag of a snapshot against the same files.
 */
export interface SnapshotInHand {
  files: SnapshotFile[];
  /** The Pooling modules' config.json paths that modules.json names; read from disk once, when first asked. */
  poolingConfigs: () => Promise<string[]>;
}

export function snapshotInHand(dir: RepoDir, commit: string, files: SnapshotFile[]): SnapshotInHand {
  let pooling: Promise<string[]> | undefined;
  return { files, poolingConfigs: () => (pooling ??= readPoolingConfigs(dir, commit)) };
}

/** The Pooling modules' config.json paths that the snapshot's modules.json names. */
async function readPoolingConfigs(dir: RepoDir, commit: string): Promise<string[]> {
  let modules: unknown;
  try {
    modules = JSON.parse(await readFile(snapshotPath(dir, commit, 'modules.json'), 'utf8'));
  } catch {
    return ['modules.json is unreadable']; // never present, so the snapshot is not accepted
  }
  if (!Array.isArray(modules)) return [];
  return modules
    .filter((m): m is { path: string; type: string } => typeof m?.path === 'string' && typeof m?.type === 'string' && m.path !== '')
    .filter((m) => m.type.split('.').pop() === 'Pooling')
    .map((m) => `${m.path}/config.json`);
}

export function notCachedError(ref: ModelRef, where: CacheLocation, offline: boolean): HearthError {
  const searched = ref.kind === 'url' ? urlRepoDir(where.home, ref.url).root : 'repo' in ref ? hubRepoDir(where.hubCache, ref.repo).root : ref.path;
  if (!offline) {
    return new HearthError('NOT_CACHED', `${ref.text} is not in the store (looked in ${searched})`, {
      details: { ref: ref.text, searched },
      hint: `run: hearth pull ${ref.text}`,
    });
  }
  return new HearthError('OFFLINE_NOT_CACHED', `offline mode is on and ${ref.text} is not cached (looked in ${searched})`, {
    details: { ref: ref.text, searched, cacheDir: where.hubCache },
    hint: `with network access run: hearth pull ${ref.text}  — or on an air-gapped machine: hearth import <bundle.tar> (made elsewhere with hearth export ${ref.text} -o bundle.tar)`,
  });
}

async function commitFor(dir: RepoDir, revision: string): Promise<string | undefined> {
  if (isCommitHash(revision)) return revision;
  const commit = (await readFile(refPath(dir, revision), 'utf8').catch(() => '')).trim();
  // A ref file is only trusted to name a snapshot folder, never a path elsewhere.
  return /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(commit) ? commit : undefined;
}

/** The snapshot entries for `paths`, or undefined if any is missing or dangling. */
async function storedFiles(dir: RepoDir, commit: string, paths: string[]): Promise<StoredFile[] | undefined> {
  if (paths.length === 0) return undefined;
  const files: StoredFile[] = [];
  for (const path of paths) {
    const file = await snapshotFile(join(dir.snapshots, commit), snapshotPath(dir, commit, path));
    if (file.size === undefined) return undefined;
    files.push({ ...file, size: file.size });
  }
  return files;
}
