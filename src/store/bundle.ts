import { randomBytes } from 'node:crypto';
import { readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tar from 'tar';
import { z } from 'zod';
import { HearthError, throwIfAborted } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import { digestKind, hashFile } from './digest.js';
import { copyFileAtomic, ensureDir, fsError, isDiskFull, linkOrCopy, moveFile, pathExists, writeFileAtomic } from './fs-utils.js';
import { blobLinkTarget, blobPath, hubRepoDir, refPath, snapshotPath, urlRepoDir, type RepoDir } from './layout.js';
import { selectSafeModelFiles } from './select-model.js';
import { registerPull } from './pull-markers.js';
import { stampOf, type CompletionRecord, type Records } from './records.js';
import { assertSafeRepoPath, assertSafeRevision, isCommitHash, parseRef } from './ref.js';
import { URL_SOURCE_FILE } from './scan.js';
import type { ResolvedModel } from './types.js';

const MANIFEST = 'hearth-bundle.json';
const digest = z.string().regex(/^([0-9a-f]{40}|[0-9a-f]{64})$/);

const manifestSchema = z.object({
  format: z.literal('hearth-bundle'),
  version: z.literal(1),
  createdAt: z.string(),
  models: z.array(
    z.object({
      ref: z.string(),
      repo: z.string().optional(),
      url: z.url().optional(),
      revision: z.string().optional(),
      commit: z.string(),
      files: z.array(z.object({ path: z.string(), digest, size: z.number().int().nonnegative() })).min(1),
    }),
  ),
});
type Manifest = z.output<typeof manifestSchema>;

export interface BundleReport {
  file: string;
  models: string[];
  bytes: number;
}

export interface ImportReport {
  models: string[];
  /** Blobs written; blobs already present are kept and counted in `reused`. */
  written: number;
  reused: number;
}

/**
 * Writes a tar of a manifest plus `blobs/<digest>`: everything an air-gapped
 * machine needs to rebuild the same snapshots, and to verify them.
 */
export async function exportBundle(models: ResolvedModel[], file: string, ctx: { home: string; signal: AbortSignal }): Promise<BundleReport> {
  const staging = join(ctx.home, 'tmp', `export-${randomBytes(6).toString('hex')}`);
  await ensureDir(join(staging, 'blobs'));
  try {
    const manifest: Manifest = { format: 'hearth-bundle', version: 1, createdAt: new Date().toISOString(), models: [] };
    let bytes = 0;
    for (const model of models) {
      const files = model.files.map((f) => {
        if (!f.digest) throw new HearthError('USAGE', `${model.ref}: ${f.path} is a copy without a known digest; re-pull it before exporting`);
        return { path: f.path, digest: f.digest, size: f.size };
      });
      for (const f of model.files) {
        const link = join(staging, 'blobs', f.digest!);
        if (!(await pathExists(link))) {
          await symlink(f.localPath, link);
          bytes += f.size;
        }
      }
      const url = model.kind === 'url' ? parseRef(model.ref) : undefined;
      manifest.models.push({
        ref: model.ref,
        ...(model.repo ? { repo: model.repo, revision: model.revision } : {}),
        ...(url?.kind === 'url' ? { url: url.url } : {}),
        commit: model.commit!,
        files,
      });
    }
    await writeFile(join(staging, MANIFEST), JSON.stringify(manifest, null, 2)).catch((error: unknown) => {
      throw fsError(error, 'write', join(staging, MANIFEST));
    });
    throwIfAborted(ctx.signal);
    await tar.c({ file, cwd: staging, follow: true, portable: true }, [MANIFEST, 'blobs']).catch(async (error: unknown) => {
      await rm(file, { force: true });
      throw fsError(error, 'write', file);
    });
    return { file, models: manifest.models.map((m) => m.ref), bytes };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * Unpacks a bundle into a private folder, hashes every blob against the
 * manifest, and only then publishes: blobs, snapshot links, refs last.
 * A bad bundle changes nothing in the store.
 */
export async function importBundle(
  file: string,
  ctx: { hubCache: string; home: string; records: Records; signal: AbortSignal; logger: Logger },
): Promise<ImportReport> {
  if (!(await pathExists(file))) throw new HearthError('BUNDLE_INVALID', `bundle not found: ${file}`, { details: { file } });
  await ensureDir(ctx.hubCache);
  const staging = join(ctx.hubCache, `.hearth-import-${randomBytes(6).toString('hex')}`);
  await ensureDir(staging);
  try {
    await tar
      .x({
        file,
        cwd: staging,
        strict: true,
        // Only the manifest and digest-named regular files: no links, no paths elsewhere.
        filter: (path, entry) => {
          const ok = path === MANIFEST || /^blobs\/([0-9a-f]{40}|[0-9a-f]{64})$/.test(path) || path === 'blobs/' || path === 'blobs';
          const type = (entry as { type?: string }).type;
          return ok && (type === 'File' || type === 'Directory' || type === 'OldFile');
        },
      })
      .catch((error: unknown) => {
        // A full disk is not a bad bundle.
        if (isDiskFull(error)) throw fsError(error, 'unpack the bundle into', staging);
        throw new HearthError('BUNDLE_INVALID', `${file} is not a readable tar bundle: ${(error as Error).message}`, { cause: error });
      });
    const manifest = await readManifest(join(staging, MANIFEST), file);
    await checkBlobs(manifest, staging, ctx.signal, file);
    return await publish(manifest, staging, ctx);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function readManifest(path: string, file: string): Promise<Manifest> {
  const text = await readFile(path, 'utf8').catch(() => {
    throw new HearthError('BUNDLE_INVALID', `${file} has no ${MANIFEST}; was it made by hearth export?`);
  });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new HearthError('BUNDLE_INVALID', `${file}: ${MANIFEST} is not JSON (${(error as Error).message}); was it made by hearth export?`, { cause: error, details: { file } });
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) throw new HearthError('BUNDLE_INVALID', `${file}: invalid manifest: ${parsed.error.issues[0]?.message}`, { cause: parsed.error });
  for (const model of parsed.data.models) {
    if (!model.repo === !model.url) throw new HearthError('BUNDLE_INVALID', `${file}: ${model.ref} needs exactly one of repo or url`);
    if (model.repo && parseRef(`hf:${model.repo}`).kind !== 'hf-repo') throw new HearthError('BUNDLE_INVALID', `${file}: bad repo id ${model.repo}`);
    if (model.repo) checkSelection(model, file); // before anything is published
    if (model.revision) assertSafeRevision(model.revision, model.ref);
    assertSafeRevision(model.commit, model.ref);
    for (const f of model.files) assertSafeRepoPath(f.path, model.ref);
  }
  return parsed.data;
}

async function checkBlobs(manifest: Manifest, staging: string, signal: AbortSignal, file: string): Promise<void> {
  const checked = new Set<string>();
  for (const f of manifest.models.flatMap((m) => m.files)) {
    if (checked.has(f.digest)) continue;
    const path = join(staging, 'blobs', f.digest);
    const info = await stat(path).catch(() => undefined);
    if (!info) throw new HearthError('BUNDLE_INVALID', `${file} is missing blob ${f.digest} (${f.path})`);
    const actual = await hashFile(path, digestKind(f.digest)!, { size: info.size, signal });
    if (actual.digest !== f.digest || actual.size !== f.size) {
      throw new HearthError('DIGEST_MISMATCH', `${file}: ${f.path} hashes to ${actual.digest} (${actual.size} bytes), manifest says ${f.digest} (${f.size} bytes)`, {
        details: { expected: f.digest, actual: actual.digest },
      });
    }
    checked.add(f.digest);
  }
}

async function publish(manifest: Manifest, staging: string, ctx: { hubCache: string; home: string; records: Records; logger: Logger }): Promise<ImportReport> {
  let written = 0;
  let reused = 0;
  const now = new Date().toISOString();
  for (const model of manifest.models) {
    const dir = model.repo ? hubRepoDir(ctx.hubCache, model.repo) : urlRepoDir(ctx.home, model.url!);
    // Like a pull, an import publishes blobs before it links them: gc must leave them alone meanwhile.
    // It registers before it writes anything into the folder, which a sweeper may otherwise remove as empty.
    const unregister = await registerPull(dir, model.files.map((f) => f.digest), { logger: ctx.logger });
    try {
      await ensureDir(dir.blobs);
      if (model.url) await writeFileAtomic(join(dir.root, URL_SOURCE_FILE), model.url);
      const counts = await publishModel(model, dir, manifest, staging, ctx, now);
      written += counts.written;
      reused += counts.reused;
    } finally {
      await unregister();
    }
    ctx.logger.info({ ref: model.ref }, 'imported');
  }
  return { models: manifest.models.map((m) => m.ref), written, reused };
}

async function publishModel(
  model: Manifest['models'][number],
  dir: RepoDir,
  manifest: Manifest,
  staging: string,
  ctx: { hubCache: string; home: string; records: Records },
  now: string,
): Promise<{ written: number; reused: number }> {
  let written = 0;
  let reused = 0;
  // As in a pull: every blob first, then the links (primary last), the completion record, the ref.
  for (const f of model.files) {
    const staged = join(staging, 'blobs', f.digest);
    if (await pathExists(blobPath(dir, f.digest))) {
      reused++; // not hashed here: its verification record, if any, stays as it was
      continue;
    }
    if (await pathExists(staged)) {
      await moveFile(staged, blobPath(dir, f.digest));
      written++;
    } else {
      // Moved into another repo's folder by an earlier model in this bundle.
      const other = manifest.models.find((m) => m !== model && m.files.some((g) => g.digest === f.digest));
      const from = blobPath(other!.repo ? hubRepoDir(ctx.hubCache, other!.repo) : urlRepoDir(ctx.home, other!.url!), f.digest);
      await copyFileAtomic(from, blobPath(dir, f.digest));
      written++;
    }
    // Every staged blob was hashed against the manifest before anything was published.
    const info = await stat(blobPath(dir, f.digest)).catch(() => undefined);
    await ctx.records.noteBlob(f.digest, { verifiedAt: now, ...(info ? { verifiedStamp: stampOf(info) } : {}) });
  }
  for (const f of [...model.files].reverse()) {
    await linkOrCopy(snapshotPath(dir, model.commit, f.path), blobLinkTarget(dir, model.commit, f.path, f.digest));
  }
  const selection = model.repo ? selectionOf(model) : undefined;
  if (selection) await ctx.records.putCompletion(dir.id, { format: 'hearth-snapshot', version: 1, repo: model.repo!, commit: model.commit, ...selection, completedAt: now });
  const revision = model.repo ? model.revision : 'main';
  if (revision && !isCommitHash(revision)) await writeFileAtomic(refPath(dir, revision), model.commit);
  return { written, reused };
}

function checkSelection(model: Manifest['models'][number], file: string): void {
  try {
    const ref = parseRef(model.ref);
    if (!('repo' in ref) || ref.repo !== model.repo) throw new Error(`${model.ref} is not a ref into ${model.repo}`);
    selectionOf(model);
  } catch (error) {
    throw new HearthError('BUNDLE_INVALID', `${file}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * A bundled `hf:<owner>/<repo>` or `:<tag>` model is a completed selection:
 * its completion record is derived again from the bundle, by running the same
 * selection over its files, so a bundle can only claim what a pull would pick.
 */
function selectionOf(model: Manifest['models'][number]): Pick<CompletionRecord, 'tag' | 'kind' | 'files'> | undefined {
  const ref = parseRef(model.ref);
  if (ref.kind !== 'hf-repo' && ref.kind !== 'hf-quant') return undefined;
  const tag = ref.kind === 'hf-quant' ? ref.quant : undefined;
  const byPath = new Map(model.files.map((f) => [f.path, f]));
  const selection = selectSafeModelFiles([...byPath.keys()], tag, model.ref);
  if (selection.files.length !== byPath.size) throw new HearthError('BUNDLE_INVALID', `${model.ref}: the bundle's files are not the ones this model selects`);
  return { tag, kind: selection.format, files: selection.files.map((p) => ({ path: p, digest: byPath.get(p)!.digest, size: byPath.get(p)!.size })) };
}
