/** An absolute POSIX path of two or more segments, or a file: URL; the last segment is kept. */
const ABSOLUTE_PATH = /(?:file:\/\/)?(?<![\w.~-])\/(?:[^\s'"`,;()[\]/]+\/)+([^\s'"`,;()[\]/]*)/g;

/**
 * An error message fit for an unauthenticated reader: absolute paths become
 * their last segment, so /health does not map the server's disk for anyone
 * who can reach it.
 */
export function publicMessage(message: string): string {
  return message.replace(ABSOLUTE_PATH, (_match, last: string) => last || '…');
}
