import { readdirSync, readFileSync } from 'node:fs';
import { readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { HearthError } from '../errors/index.js';
import { errnoOf, fsError, writeFileAtomic } from './fs-utils.js';
import { normalizeName } from './model-names.js';

/**
 * The generation parameters a model definition carries, in Ollama's
 * vocabulary (its Modelfile PARAMETER names and its request `options`): the
 * server's `options` block is this schema, so a definition can hold exactly
 * what a request can ask for.
 */
export const modelParameters = z.strictObject({
  num_predict: z.number().int().optional(),
  num_ctx: z.number().int().positive().optional(),
  temperature: z.number().min(0).optional(),
  top_p: z.number().min(0).max(1).optional(),
  top_k: z.number().int().min(0).optional(),
  min_p: z.number().min(0).max(1).optional(),
  repeat_penalty: z.number().positive().optional(),
  repeat_last_n: z.number().int().min(-1).optional(),
  presence_penalty: z.number().optional(),
  frequency_penalty: z.number().optional(),
  penalize_newline: z.boolean().optional(),
  seed: z.number().int().optional(),
  stop: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .transform((s) => (s === undefined ? undefined : Array.isArray(s) ? s : [s])),
});
export type ModelParameters = z.output<typeof modelParameters>;

/** `name` or `name:tag`: letters, digits, '.', '_' and '-' (no '/', which hub references use). */
const NAME = /^[a-z0-9][a-z0-9._-]{0,127}(:[a-z0-9][a-z0-9._-]{0,127})?$/i;

/**
 * A model made by `/api/create` or `/api/copy` (Ollama's model definitions):
 * a name for a stored model, with a chat template, a system prompt and
 * parameters of its own. It shares the model's files and its warm copy in
 * the pool: a definition is settings, never bytes.
 */
export const modelDefinition = z.object({
  /** Normalized: lower case, with its tag (`mine:latest`). */
  name: z.string().regex(NAME),
  /** The reference the store resolves (`hf:…`, a local path, or an alias). */
  from: z.string().min(1),
  /** A Jinja chat template, as GGUF files carry (`tokenizer.chat_template`); replaces the model's own. */
  template: z.string().min(1).optional(),
  system: z.string().optional(),
  parameters: modelParameters.default({ stop: undefined }),
  license: z.string().optional(),
  createdAt: z.string(),
});
export type ModelDefinition = z.output<typeof modelDefinition>;
export type ModelDefinitionInput = z.input<typeof modelDefinition>;

/** What a create sets over the model it starts from; unset fields are inherited. */
export interface DefinitionSettings {
  template?: string | undefined;
  system?: string | undefined;
  license?: string | undefined;
  parameters?: Partial<ModelParameters> | undefined;
}

/** A model name as definitions store it (`Mine` is `mine:latest`); USAGE naming `field` when it cannot be one. */
export function definitionName(name: string, field = 'model'): string {
  if (!NAME.test(name.trim())) {
    throw new HearthError('USAGE', `invalid request: ${field}: "${name}" is not a model name (letters, digits, ".", "_" and "-", with an optional ":tag")`, {
      details: { field },
    });
  }
  return normalizeName(name);
}

/**
 * Definitions as files, `$HEARTH_HOME/models/<name>.json`, one per name,
 * each replaced atomically (Ollama's create and copy overwrite a name).
 * They are read once at start and again when the directory's listing is
 * asked for, so a definition another process wrote is found on a miss.
 */
export class DefinitionRegistry {
  readonly dir: string;
  #byName = new Map<string, ModelDefinition>();

  constructor(home: string) {
    this.dir = join(home, 'models');
    this.#byName = this.#readAllSync();
  }

  /** Every definition as an alias (name → what it stands for), for reference parsing. */
  aliases(): Record<string, string> {
    return Object.fromEntries([...this.#byName.values()].map((d) => [d.name, d.from]));
  }

  get(name: string): ModelDefinition | undefined {
    return this.#byName.get(name);
  }

  list(): ModelDefinition[] {
    return [...this.#byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * The definition `name` gets when made from `from` with `settings`: over
   * another definition it inherits that one's model, template, system and
   * license, and its parameters key by key, as Ollama's FROM does; so no
   * definition ever points at another.
   */
  derive(name: string, from: string, settings: DefinitionSettings): ModelDefinitionInput {
    const base = this.#byName.get(from);
    const defined = <T>(value: T | undefined, inherited: T | undefined) => (value !== undefined ? value : inherited);
    return {
      name,
      from: base?.from ?? from,
      template: defined(settings.template, base?.template),
      system: defined(settings.system, base?.system),
      license: defined(settings.license, base?.license),
      parameters: { ...base?.parameters, ...Object.fromEntries(Object.entries(settings.parameters ?? {}).filter(([, v]) => v !== undefined)) },
      createdAt: new Date().toISOString(),
    };
  }

  async put(input: ModelDefinitionInput): Promise<ModelDefinition> {
    const definition = modelDefinition.parse(input);
    await writeFileAtomic(this.#path(definition.name), `${JSON.stringify(definition, null, 2)}\n`);
    this.#byName.set(definition.name, definition);
    return definition;
  }

  /** False when there was no such definition. */
  async remove(name: string): Promise<boolean> {
    const path = this.#path(name);
    this.#byName.delete(name);
    try {
      await unlink(path);
      return true;
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') return false;
      throw fsError(error, 'remove', path);
    }
  }

  /** Reads the directory again (another process may have created or removed a definition). */
  async refresh(): Promise<void> {
    let files: string[];
    try {
      files = await readdir(this.dir);
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') return void (this.#byName = new Map());
      throw fsError(error, 'read', this.dir);
    }
    const next = new Map<string, ModelDefinition>();
    for (const file of files.filter(isDefinitionFile)) {
      const text = await readFile(join(this.dir, file), 'utf8').catch(() => undefined);
      const definition = text === undefined ? undefined : decode(text);
      if (definition) next.set(definition.name, definition);
    }
    this.#byName = next;
  }

  #readAllSync(): Map<string, ModelDefinition> {
    const found = new Map<string, ModelDefinition>();
    let files: string[];
    try {
      files = readdirSync(this.dir);
    } catch {
      return found;
    }
    for (const file of files.filter(isDefinitionFile)) {
      let text: string | undefined;
      try {
        text = readFileSync(join(this.dir, file), 'utf8');
      } catch {
        continue;
      }
      const definition = decode(text);
      if (definition) found.set(definition.name, definition);
    }
    return found;
  }

  #path(name: string): string {
    // ':' is not a portable file name character.
    return join(this.dir, `${encodeURIComponent(name)}.json`);
  }
}

function isDefinitionFile(file: string): boolean {
  return file.endsWith('.json') && !file.startsWith('.');
}

/** A file that is not a definition (edited by hand, half a copy) is skipped, as a missing one would be. */
function decode(text: string): ModelDefinition | undefined {
  try {
    const parsed = modelDefinition.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
