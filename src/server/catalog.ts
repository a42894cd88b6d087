import type { StoreEntry } from '../store/index.js';
import type { ServerContext } from './context.js';

/** A model as the list endpoints show it: one per stored model (split GGUF parts count once). */
export interface CatalogModel {
  /** Its name: usable as `model` in every API. */
  name: string;
  size: number;
  digest: string | undefined;
  modifiedAt: string;
  format: string;
}

const SPLIT_TAIL = /-0000[2-9]-of-\d{5}\.gguf$|-000[1-9]\d-of-\d{5}\.gguf$/;

/**
 * What can be served: every stored model under its name, and every alias
 * under the alias's own name, listed from the configuration before its
 * first use (a local target is read from disk, never shown by its path).
 */
export async function catalog(ctx: ServerContext): Promise<CatalogModel[]> {
  const index = await ctx.access.names.index();
  const entries = (await ctx.store.list()).filter((e) => !SPLIT_TAIL.test(e.file));
  const models = entries.filter((e) => !index.aliased(e.ref)).map((entry) => toModel(entry, index.nameOf(entry.ref) ?? ctx.access.names.display(entry.ref)));
  for (const [alias, target] of Object.entries(ctx.config.aliases)) {
    const parsed = ctx.store.parse(target);
    const stored = entries.find((e) => e.ref === parsed.text);
    if (stored) models.push(toModel(stored, alias));
    else if (parsed.kind === 'local') {
      const found = await ctx.store.peekLocal(parsed.path);
      if (found) models.push({ name: alias, digest: undefined, size: found.size, modifiedAt: found.modifiedAt.toISOString(), format: formatOf(found.primary) });
    }
  }
  // A definition is listed beside its model, with the model's size and digest, as Ollama lists a copy.
  for (const definition of ctx.store.definitions.list()) {
    if (!ctx.store.definition(definition.name)) continue;
    const stored = entries.find((e) => e.ref === ctx.store.parse(definition.from).text);
    if (stored) models.push({ ...toModel(stored, definition.name), modifiedAt: definition.createdAt });
  }
  return models;
}

function toModel(entry: StoreEntry, name: string): CatalogModel {
  return {
    name,
    size: entry.size ?? 0,
    digest: entry.digest,
    modifiedAt: entry.lastUsedAt ?? entry.verifiedAt ?? new Date(0).toISOString(),
    format: formatOf(entry.file),
  };
}

function formatOf(file: string): string {
  return file.toLowerCase().endsWith('.gguf') ? 'gguf' : (file.split('.').pop() ?? 'unknown');
}
