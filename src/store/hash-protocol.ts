import type { DigestKind } from './digest.js';

/** What a hash thread is started with: the file it follows, and how to hash it. */
export interface HasherSetup {
  path: string;
  kind: DigestKind;
  size: number;
}

/** `advance`: bytes [0, to) are written and may be hashed. `finish`: hash what was reported, then answer the digest. */
export type HasherRequest = { type: 'advance'; to: number } | { type: 'finish' };

export type HasherReply = { type: 'digest'; digest: string; bytes: number } | { type: 'failed'; message: string };
