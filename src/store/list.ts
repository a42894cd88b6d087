import type { Records } from './records.js';
import { revisionsOf, scanHubCache, scanUrlNamespace, type ScannedRepo } from './scan.js';
import type { StoreEntry } from './types.js';

/** Every stored file: hub snapshots (whoever wrote them), URL downloads and local registrations. */
export async function listEntries(hubCache: string, home: string, records: Records): Promise<StoreEntry[]> {
  const repos = [...(await scanHubCache(hubCache)), ...(await scanUrlNamespace(home))];
  const entries: StoreEntry[] = [];
  for (const repo of repos) {
    for (const [commit, files] of repo.snapshots) {
      const revision = preferredRevision(repo, commit);
      for (const file of files) {
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
    entries.push({
      ref: local.path,
      kind: 'local',
      revision: undefined,
      commit: undefined,
      file: local.path,
      localPath: local.path,
      size: local.size,
      digest: local.digest,
      verifiedAt: local.verifiedAt,
      lastUsedAt: local.lastUsedAt,
    });
  }
  return entries.sort((a, b) => a.ref.localeCompare(b.ref));
}

function preferredRevision(repo: ScannedRepo, commit: string): string | undefined {
  const names = revisionsOf(repo, commit);
  return names.includes('main') ? 'main' : names.sort()[0];
}

function refText(repo: ScannedRepo, path: string, revision: string): string {
  if (!repo.repo) return repo.url ?? repo.dir.id;
  return `hf:${repo.repo}/${path}${revision === 'main' ? '' : `@${revision}`}`;
}
