import { lstat, readdir, readFile, readlink, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { digestKind } from './digest.js';
import { hubRepoDir, repoDir, repoFromFolder, urlNamespace, type RepoDir } from './layout.js';

export interface SnapshotFile {
  /** Path inside the repo. */
  path: string;
  /** Absolute path of the snapshot entry (symlink or copy). */
  localPath: string;
  /** Blob digest when the entry links to a blob; undefined for copies. */
  digest: string | undefined;
  /** Size of the content; undefined when the link dangles. */
  size: number | undefined;
}

export interface ScannedRepo {
  dir: RepoDir;
  /** "owner/name" for hub repos. */
  repo: string | undefined;
  /** The source URL for hearth's URL namespace. */
  url: string | undefined;
  /** revision name -> commit */
  refs: Map<string, string>;
  snapshots: Map<string, SnapshotFile[]>;
  blobs: Array<{ digest: string; size: number; mtimeMs: number }>;
  /** Partial and temp files (hearth's and huggingface_hub's), for gc. */
  leftovers: Array<{ path: string; size: number; mtimeMs: number }>;
}

export const URL_SOURCE_FILE = 'source-url';

/** Reads a repo folder of the cache layout, tolerating anything half-written or foreign. */
export async function scanRepo(dir: RepoDir): Promise<ScannedRepo> {
  const repo = repoFromFolder(dir.id);
  const url = repo ? undefined : await readFile(join(dir.root, URL_SOURCE_FILE), 'utf8').then((s) => s.trim(), () => undefined);
  const refs = new Map<string, string>();
  for (const file of await walk(dir.refs)) {
    const commit = (await readFile(file, 'utf8').catch(() => '')).trim();
    if (commit) refs.set(relative(dir.refs, file).split('\\').join('/'), commit);
  }
  const snapshots = new Map<string, SnapshotFile[]>();
  for (const commit of await readdir(dir.snapshots).catch(() => [] as string[])) {
    snapshots.set(commit, (await readSnapshot(dir, commit)) ?? []);
  }
  const blobs: ScannedRepo['blobs'] = [];
  const leftovers: ScannedRepo['leftovers'] = [];
  for (const name of await readdir(dir.blobs).catch(() => [] as string[])) {
    const info = await stat(join(dir.blobs, name)).catch(() => undefined);
    if (!info?.isFile()) continue;
    if (digestKind(name)) blobs.push({ digest: name, size: info.size, mtimeMs: info.mtimeMs });
    else if (/\.(incomplete|ranges|tmp)$/.test(name)) leftovers.push({ path: join(dir.blobs, name), size: info.size, mtimeMs: info.mtimeMs });
  }
  return { dir, repo, url, refs, snapshots, blobs, leftovers };
}

/**
 * Every repo folder of the hub cache (whoever wrote it) and of hearth's URL
 * namespace, in name order. The one listing of folders that scans, gc and
 * verify build on.
 */
export async function repoFolders(hubCache: string, home: string): Promise<RepoDir[]> {
  return [...(await hubFolders(hubCache)), ...(await urlFolders(home))];
}

async function hubFolders(hubCache: string): Promise<RepoDir[]> {
  const names = (await readdir(hubCache).catch(() => [] as string[])).sort();
  return names.map(repoFromFolder).filter((r): r is string => r !== undefined).map((repo) => hubRepoDir(hubCache, repo));
}

async function urlFolders(home: string): Promise<RepoDir[]> {
  const parent = urlNamespace(home);
  const names = (await readdir(parent).catch(() => [] as string[])).filter((n) => n.startsWith('urls--')).sort();
  return names.map((id) => repoDir(parent, id));
}

/** Every hub repo in the cache root, including ones other tools wrote. */
export async function scanHubCache(hubCache: string): Promise<ScannedRepo[]> {
  return Promise.all((await hubFolders(hubCache)).map(scanRepo));
}

/** Every URL download in hearth's namespace. */
export async function scanUrlNamespace(home: string): Promise<ScannedRepo[]> {
  return Promise.all((await urlFolders(home)).map(scanRepo));
}

/** The commits that a snapshot file at `commit` is reachable from, for display. */
export function revisionsOf(repo: ScannedRepo, commit: string): string[] {
  return [...repo.refs].filter(([, c]) => c === commit).map(([name]) => name);
}

/** The files of one snapshot, sorted by path; undefined when the snapshot does not exist. */
export async function readSnapshot(dir: RepoDir, commit: string): Promise<SnapshotFile[] | undefined> {
  const root = join(dir.snapshots, commit);
  if (!(await stat(root).catch(() => undefined))?.isDirectory()) return undefined;
  const files = await Promise.all((await walk(root)).map((localPath) => snapshotFile(root, localPath)));
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

/** One snapshot entry: its blob digest when it links into blobs/, and its size unless it dangles. */
export async function snapshotFile(root: string, localPath: string): Promise<SnapshotFile> {
  const path = relative(root, localPath).split('\\').join('/');
  const target = await readlink(localPath).catch(() => undefined);
  const digest = target ? basename(target) : undefined;
  const info = await stat(localPath).catch(() => undefined);
  const size = info?.isFile() ? info.size : undefined;
  const isBlobLink = target !== undefined && digestKind(digest!) !== undefined && basename(dirname(resolve(dirname(localPath), target))) === 'blobs';
  return { path, localPath, digest: isBlobLink ? digest : undefined, size };
}

/** Files (and symlinks) below a directory, recursively; empty when it is missing. */
async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(full)));
    else if (entry.isFile() || entry.isSymbolicLink()) {
      if (entry.isSymbolicLink() && (await lstat(full).catch(() => undefined)) === undefined) continue;
      if (/\.\d+-[0-9a-f]+\.tmp$/.test(entry.name)) continue;
      out.push(full);
    }
  }
  return out;
}
