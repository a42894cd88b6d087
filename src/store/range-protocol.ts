import type { DigestKind } from './digest.js';
import type { HubClientSettings } from './hub-client.js';

/** What a range thread is started with: the blob, where its partial is, and the pull settings that apply. */
export interface RangeSetup {
  client: HubClientSettings;
  logLevel: string;
  partial: string;
  location: string;
  kind: DigestKind;
  size: number;
  label: string;
  retries: number;
  idleTimeoutMs: number;
  connections: number;
  pieceBytes: number;
}

/** An error as it crosses the thread: a HearthError's fields, or an OS error's errno. */
export interface ThreadError {
  hearth?: { code: string; message: string; details: Record<string, unknown>; hint: string | undefined };
  message: string;
  errno?: string | undefined;
}

export type RangeRequest = { type: 'abort' };

export type RangeReply =
  | { type: 'progress'; written: number }
  | { type: 'log'; line: string }
  | { type: 'done'; digest: string; size: number; received: number }
  | { type: 'failed'; error: ThreadError; received: number };
