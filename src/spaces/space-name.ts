import { HearthError } from '../errors/index.js';

/** A name that is a file name and a URL segment: letters, digits, ".", "_" and "-", not starting with a dot. Spaces and collections use it. */
export const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** What an embedding request names in `model` to be served under a space's guard. */
export const SPACE_PREFIX = 'space:';

/** Checks `name` against SAFE_NAME, failing with `code`: spaces and collections name themselves by one rule. */
export function assertSafeName(name: string, code: 'SPACE_NAME_INVALID' | 'COLLECTION_NAME_INVALID', what: string): string {
  if (!SAFE_NAME.test(name)) {
    throw new HearthError(code, `"${name}" is not a valid ${what} name`, {
      details: { name },
      hint: 'use 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit',
    });
  }
  return name;
}

export function assertSpaceName(name: string): string {
  return assertSafeName(name, 'SPACE_NAME_INVALID', 'space');
}

/** The space a model field names ("space:notes"), or undefined for a plain model name. */
export function spaceNameOf(model: string): string | undefined {
  return model.startsWith(SPACE_PREFIX) ? assertSpaceName(model.slice(SPACE_PREFIX.length)) : undefined;
}
