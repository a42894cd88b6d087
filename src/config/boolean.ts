/** The spellings people use for on and off, in env files, compose files and systemd units. */
export const TRUE_WORDS = ['1', 'true', 'yes', 'y', 'on', 'enable', 'enabled'];
export const FALSE_WORDS = ['', '0', 'false', 'no', 'n', 'off', 'disable', 'disabled'];

/** A boolean from text, or undefined when the text is neither spelling (callers refuse it). */
export function parseBoolean(value: string): boolean | undefined {
  const v = value.trim().toLowerCase();
  if (TRUE_WORDS.includes(v)) return true;
  if (FALSE_WORDS.includes(v)) return false;
  return undefined;
}
