import type { ModelDefinition } from '../store/index.js';
import type { ServerContext } from './context.js';

/** The definition (made by /api/create or /api/copy) a request's model name stands for, if it names one. */
export function definitionOf(ctx: ServerContext, model: string): Promise<ModelDefinition | undefined> {
  return ctx.access.named(model, async (ref) => ctx.store.definition(ref));
}
