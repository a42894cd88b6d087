/** One file of a stored model, as a loader sees it. */
export interface StoredFile {
  /** Path inside the repo (or the file name for URLs and local files). */
  path: string;
  /** Absolute path to read the content from. */
  localPath: string;
  /** sha256 (or git blob sha1 for small git files); undefined for copies whose blob is unknown. */
  digest: string | undefined;
  size: number;
}

/** A reference resolved to files on disk. */
export interface ResolvedModel {
  /** The canonical reference text. */
  ref: string;
  kind: 'hub' | 'url' | 'local';
  repo?: string | undefined;
  revision?: string | undefined;
  commit?: string | undefined;
  files: StoredFile[];
  /** The file a loader opens: the first part of a split GGUF, or the only file. */
  primary: StoredFile;
}

export interface PullResult extends ResolvedModel {
  /** Bytes received over the network by this pull. */
  received: number;
  /** True when nothing had to be downloaded. */
  upToDate: boolean;
  /**
   * What the pull did: `downloaded` bytes, found everything `up-to-date`,
   * `registered` a local file or directory for the first time, or `updated`
   * a registration whose content changed.
   */
  outcome: PullOutcome;
}

export type PullOutcome = 'downloaded' | 'up-to-date' | 'registered' | 'updated';

/** What `Store.assertIntact` did before a load. */
export interface IntegrityReport {
  /** The `verify.onLoad` policy that applied. */
  policy: 'auto' | 'always' | 'never';
  /** Files looked at (0 under `never`). */
  checked: number;
  /** Files hashed because the policy asked for it. */
  hashed: number;
  bytesHashed: number;
  ms: number;
}

export interface ModelStatus {
  ref: string;
  cached: boolean;
  /** True when every blob was hashed and matched since it was last written. */
  verified: boolean;
  path: string | undefined;
  size: number | undefined;
  digest: string | undefined;
}

/** Progress of a pull, in a shape the HTTP API can stream as-is (Ollama-like). */
export type PullEvent =
  | { status: 'resolving'; ref: string }
  | { status: 'waiting'; ref: string; file: string; digest: string }
  | { status: 'downloading'; ref: string; file: string; digest: string; total: number | undefined; completed: number }
  | { status: 'cached'; ref: string; file: string; digest: string | undefined; total: number }
  | { status: 'downloaded'; ref: string; file: string; digest: string; total: number; received: number }
  | { status: 'success'; ref: string };

export interface StoreEntry {
  ref: string;
  kind: 'hub' | 'url' | 'local';
  revision: string | undefined;
  commit: string | undefined;
  file: string;
  localPath: string;
  size: number | undefined;
  digest: string | undefined;
  verifiedAt: string | undefined;
  lastUsedAt: string | undefined;
  /**
   * For a model of several files (a whole-repo or :tag pull, a local
   * directory): every file's path, primary first. `file`, `localPath` and
   * `digest` then describe the primary file, and `size` is the total.
   */
  files?: string[] | undefined;
}
