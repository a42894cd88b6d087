import { join } from 'node:path';
import { foreignSelection, snapshotInHand } from './cache-resolve.js';
import { onnxVariant } from '../formats/model-files.js';
import { quantTag } from '../formats/quant.js';
import type { BlobRecord, Records } from './records.js';
import { revisionsOf, scanHubCache, scanUrlNamespace, type ScannedRepo, type SnapshotFile } from './scan.js';
import type { StoreEntry, StoredFile } from './types.js';

/**
 * Every stored model: hub snapshots (whoever wrote them), URL downloads and
 * local registrations. A selection hearth pulled as one model
 * (`hf:<owner>/<repo>`, `hf:<owner>/<repo>:<tag>`) is one entry, with its
 * total size and its files. So is a snapshot another tool wrote (no
 * completion record) whose files form a model of several files by the rules
 * resolve() applies to it: listing and resolving agree on what is a model.
 * Any other snapshot file is an entry of its own.
 */
export async function listEntries(hubCache: string, home: string, records: Records): Promise<StoreEntry[]> {
  const repos = [...(await scanHubCache(hubCache)), ...(await scanUrlNamespace(home))];
  const completions = await records.listCompletions();
  const entries: StoreEntry[] = [];
  for (const repo of repos) {
    for (const [commit, files] of repo.snapshots) {
      const revision = preferredRevision(repo, commit);
      const byPath = new Map(files.map((f) => [f.path, f]));
      const covered = new Set<string>();
      for (const { record } of completions.filter((c) => c.dirId === repo.dir.id && c.record.commit === commit)) {
        const present = record.files.map((f) => byPath.get(f.path));
        // A selection with a file gone is not a model any more; its remaining files are listed one by one.
        if (!repo.repo || present.some((f) => f?.size === undefined)) continue;
        for (const f of record.files) covered.add(f.path);
        entries.push(await selectionEntry(repo.repo, record.tag, record.commit, record.files.map((f, i) => ({ ...f, size: present[i]!.size!, localPath: present[i]!.localPath })), revision, records));
      }
      if (repo.repo) {
        const recorded = new Set(completions.filter((c) => c.dirId === repo.dir.id && c.record.commit === commit).map((c) => c.record.tag?.toLowerCase()));
        for (const group of await foreignModels(repo, repo.repo, commit, files, covered, recorded)) {
          for (const f of group.files) covered.add(f.path);
          entries.push(await selectionEntry(repo.repo, group.tag, commit, group.files, revision, records));
        }
      }
      for (const file of files) {
        if (covered.has(file.path)) continue;
        const record = file.digest ? await records.blob(file.digest) : {};
        entries.push({
          ref: refText(repo, file.path, revision ?? commit),
          kind: repo.repo ? 'hub' : 'url',
          revision,
          commit,
          file: file.path,
          localPath: file.localPath,
          size: file.size,
          digest: file.digest,
          verifiedAt: record.verifiedAt,
          lastUsedAt: record.lastUsedAt,
        });
      }
    }
  }
  for (const local of await records.listLocal()) {
    const primary = local.files?.[0];
    entries.push({
      ref: local.path,
      kind: 'local',
      revision: undefined,
      commit: undefined,
      file: primary?.path ?? local.path,
      localPath: primary ? join(local.path, primary.path) : local.path,
      size: local.size,
      digest: local.digest,
      verifiedAt: local.verifiedAt,
      lastUsedAt: local.lastUsedAt,
      ...(local.files ? { files: local.files.map((f) => f.path) } : {}),
    });
  }
  return entries.sort((a, b) => a.ref.localeCompare(b.ref));
}

/**
 * The models of several files that a snapshot without (those) completion
 * records holds: the default selection, then each ONNX variant or GGUF quant
 * whose file is not yet part of one, each kept only when resolve() would
 * accept it (foreignSelection) and it has more than one file. A single file
 * stays a line of its own, as hearth's own single-file pulls are listed.
 */
async function foreignModels(
  repo: ScannedRepo,
  repoId: string,
  commit: string,
  files: SnapshotFile[],
  covered: Set<string>,
  recorded: Set<string | undefined>,
): Promise<Array<{ tag: string | undefined; files: StoredFile[] }>> {
  const groups: Array<{ tag: string | undefined; files: StoredFile[] }> = [];
  // Every tag is tried against the files in hand: the snapshot is not walked again per tag.
  const snapshot = snapshotInHand(repo.dir, commit, files);
  const taken = new Set(covered);
  const tags = new Set<string | undefined>([undefined]);
  for (const f of files) {
    if (taken.has(f.path)) continue;
    const variant = /\.onnx$/i.test(f.path) ? onnxVariant(f.path) : /\.gguf$/i.test(f.path) ? quantTag(f.path) : undefined;
    if (variant !== undefined) tags.add(variant);
  }
  for (const tag of tags) {
    if (recorded.has(tag?.toLowerCase())) continue; // hearth pulled this selection: its record decides
    const selected = await foreignSelection(`hf:${repoId}`, tag, snapshot).catch(() => undefined);
    if (!selected || selected.length < 2 || taken.has(selected[0]!.path)) continue;
    for (const f of selected) taken.add(f.path);
    groups.push({ tag, files: selected });
  }
  return groups;
}

/** One entry for a selection: verified when every file is, last used when any was. */
async function selectionEntry(
  repo: string,
  tag: string | undefined,
  commit: string,
  files: Array<{ path: string; digest: string | undefined; size: number; localPath: string }>,
  revision: string | undefined,
  records: Records,
): Promise<StoreEntry> {
  const blobs = await Promise.all(files.map((f): Promise<BlobRecord> => (f.digest ? records.blob(f.digest) : Promise.resolve({}))));
  const verified = blobs.map((b) => b.verifiedAt);
  const used = blobs.map((b) => b.lastUsedAt).filter((t): t is string => t !== undefined);
  const rev = revision ?? commit;
  return {
    ref: `hf:${repo}${tag === undefined ? '' : `:${tag}`}${rev === 'main' ? '' : `@${rev}`}`,
    kind: 'hub',
    revision,
    commit,
    file: files[0]!.path,
    localPath: files[0]!.localPath,
    size: files.reduce((n, f) => n + f.size, 0),
    digest: files[0]!.digest,
    verifiedAt: verified.every((t) => t !== undefined) ? verified.sort()[0] : undefined,
    lastUsedAt: used.sort().at(-1),
    files: files.map((f) => f.path),
  };
}

function preferredRevision(repo: ScannedRepo, commit: string): string | undefined {
  const names = revisionsOf(repo, commit);
  return names.includes('main') ? 'main' : names.sort()[0];
}

function refText(repo: ScannedRepo, path: string, revision: string): string {
  if (!repo.repo) return repo.url ?? repo.dir.id;
  return `hf:${repo.repo}/${path}${revision === 'main' ? '' : `@${revision}`}`;
}
