import { HearthError } from '../errors/index.js';
import { definitionName, type DefinitionSettings, type ModelDefinition, type Store } from '../store/index.js';

/**
 * Stores the definition `name` over `from` (a reference the store resolves,
 * or another definition's name, whose settings it inherits). The caller has
 * checked that the model is there; a template is checked here, so one that
 * cannot render a chat is refused when stored, never on the first request.
 */
export async function defineModel(store: Store, name: string, from: string, settings: DefinitionSettings, field = 'model'): Promise<ModelDefinition> {
  const normalized = definitionName(name, field);
  if (store.isConfiguredAlias(normalized)) {
    throw new HearthError('USAGE', `invalid request: ${field}: "${name}" is an alias in the server's configuration, which cannot be redefined`, { details: { field } });
  }
  if (settings.template !== undefined) {
    // Loaded here, not at start: a create with a template is rare, and node-llama-cpp's import is not free.
    const { assertChatTemplate } = await import('../runtime/llama/chat-template.js');
    assertChatTemplate(settings.template);
  }
  const base = store.definition(from);
  return store.definitions.put(store.definitions.derive(normalized, base ? base.name : store.parse(from).text, settings));
}

/**
 * What `from` stands for in the store, for a trusted caller (the CLI): a
 * definition as is, a local file registered (hashed) where it is, anything
 * else only when already pulled (NOT_CACHED otherwise).
 */
export async function storedModel(store: Store, from: string): Promise<string> {
  const definition = store.definition(from);
  if (definition) return definition.name;
  const ref = await store.lookup(from);
  if (ref.kind === 'local') await store.pull(ref);
  else await store.resolve(ref);
  return ref.text;
}
