import { stat } from 'node:fs/promises';
import type { StoreEntry } from '../store/index.js';
import type { ServerContext } from './context.js';

/** A model as the list endpoints show it: one per stored reference (split GGUF parts count once). */
export interface CatalogModel {
  name: string;
  size: number;
  digest: string | undefined;
  modifiedAt: string;
  format: string;
}

const SPLIT_TAIL = /-0000[2-9]-of-\d{5}\.gguf$|-000[1-9]\d-of-\d{5}\.gguf$/;

/** What can be served: every stored model file, named by its reference, plus configured aliases. */
export async function catalog(ctx: ServerContext): Promise<CatalogModel[]> {
  const entries = (await ctx.store.list()).filter((e) => !SPLIT_TAIL.test(e.file));
  const models = entries.map(toModel);
  for (const [alias, ref] of Object.entries(ctx.config.aliases)) {
    const parsed = ctx.store.parse(ref);
    const target = entries.find((e) => e.ref === parsed.text);
    if (target) models.push({ ...toModel(target), name: alias });
    else if (parsed.kind === 'local') {
      // A local file is registered (hashed) on first use; until then list it from the file itself.
      const info = await stat(parsed.path).catch(() => undefined);
      if (info?.isFile()) models.push({ name: alias, size: info.size, digest: undefined, modifiedAt: info.mtime.toISOString(), format: formatOf(parsed.path) });
    }
  }
  return models;
}

function toModel(entry: StoreEntry): CatalogModel {
  return {
    name: entry.ref,
    size: entry.size ?? 0,
    digest: entry.digest,
    modifiedAt: entry.lastUsedAt ?? entry.verifiedAt ?? new Date(0).toISOString(),
    format: formatOf(entry.file),
  };
}

function formatOf(file: string): string {
  return file.toLowerCase().endsWith('.gguf') ? 'gguf' : (file.split('.').pop() ?? 'unknown');
}
