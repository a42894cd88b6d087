import { join } from 'node:path';
import type { CompletionRecord, Records } from './records.js';
import { revisionsOf, scanHubCache, scanUrlNamespace, type ScannedRepo, type SnapshotFile } from './scan.js';
import type { StoreEntry } from './types.js';

/**
 * Every stored model: hub snapshots (whoever wrote them), URL downloads and
 * local registrations. A selection hearth pulled as one model
 * (`hf:<owner>/<repo>`, `hf:<owner>/<repo>:<tag>`) is one entry, with its
 * total size and its files; any other snapshot file is an entry of its own.
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
        entries.push(await selectionEntry(repo.repo, record, present as SnapshotFile[], revision, records));
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

/** One entry for a completed selection: verified when every file is, last used when any was. */
async function selectionEntry(repo: string, record: CompletionRecord, files: SnapshotFile[], revision: string | undefined, records: Records): Promise<StoreEntry> {
  const blobs = await Promise.all(record.files.map((f) => records.blob(f.digest)));
  const verified = blobs.map((b) => b.verifiedAt);
  const used = blobs.map((b) => b.lastUsedAt).filter((t): t is string => t !== undefined);
  const rev = revision ?? record.commit;
  return {
    ref: `hf:${repo}${record.tag === undefined ? '' : `:${record.tag}`}${rev === 'main' ? '' : `@${rev}`}`,
    kind: 'hub',
    revision,
    commit: record.commit,
    file: record.files[0]!.path,
    localPath: files[0]!.localPath,
    size: files.reduce((n, f) => n + f.size!, 0),
    digest: record.files[0]!.digest,
    verifiedAt: verified.every((t) => t !== undefined) ? verified.sort()[0] : undefined,
    lastUsedAt: used.sort().at(-1),
    files: record.files.map((f) => f.path),
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
