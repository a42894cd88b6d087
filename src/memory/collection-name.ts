import { assertSafeName } from '../spaces/index.js';

/** Collection names follow the rule space names do: a URL segment and a CLI argument, never anything else. */
export function assertCollectionName(name: string): string {
  return assertSafeName(name, 'COLLECTION_NAME_INVALID', 'collection');
}
