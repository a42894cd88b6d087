import { HearthError } from '../errors/index.js';
import { SAFE_NAME } from '../spaces/index.js';

/** Collection names follow the rule space names do: a URL segment and a CLI argument, never anything else. */
export function assertCollectionName(name: string): string {
  if (!SAFE_NAME.test(name)) {
    throw new HearthError('COLLECTION_NAME_INVALID', `"${name}" is not a valid collection name`, {
      details: { name },
      hint: 'use 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit',
    });
  }
  return name;
}
