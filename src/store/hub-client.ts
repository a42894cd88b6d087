import type { Readable } from 'node:stream';
import type { Agent } from 'undici';
import { HearthError } from '../errors/index.js';
import type { Logger } from '../log/logger.js';
import { normalizeEtag } from './digest.js';
import { readIdleBody } from './idle-body.js';
import { assertSafeRepoPath } from './ref.js';

/** What a HEAD on `resolve/` tells us, as huggingface_hub's get_hf_file_metadata reads it. */
export interface FileMetadata {
  commit: string;
  /** sha256 for LFS files (X-Linked-Etag), git blob sha1 otherwise (ETag). */
  etag: string;
  size: number;
  /** Where the bytes are: a CDN URL for LFS files, the resolve URL otherwise. */
  location: string;
}

export interface TreeEntry {
  path: string;
  size: number;
  /** sha256 for LFS files, else the git blob sha1; equals the blob name. */
  etag: string;
}

/** What another thread needs to make the same client (see range-thread.ts). */
export interface HubClientSettings {
  endpoint: string;
  token?: string | undefined;
  userAgent?: string;
  timeoutMs?: number | undefined;
}

export interface HubClientOptions {
  endpoint: string;
  token?: string | undefined;
  logger: Logger;
  userAgent?: string;
  /**
   * How long a request may take to connect and get its response headers
   * (and, for a listing, between two chunks of its body); HEARTH_PULL_TIMEOUT.
   * Without it a hub that accepts connections and never answers hangs a pull
   * for undici's 300 s header timeout.
   */
  timeoutMs?: number | undefined;
}

const DEFAULT_TIMEOUT_MS = 30_000;

const MAX_REDIRECTS = 10;
/** The hub pages tree listings 1,000 entries at a time; this bounds a listing at millions of files. */
const MAX_TREE_PAGES = 10_000;

/**
 * A hub response, up to its headers. The body is a Node stream from undici's
 * request API: fetch() wraps the same bytes in web streams, which measured
 * twice the CPU per byte on a parallel pull (BENCHMARKS.md, P1).
 */
export interface HubResponse {
  status: number;
  ok: boolean;
  header(name: string): string | undefined;
  body: Readable;
  /** Drops the body unread, freeing its connection. */
  cancel(): void;
}

/**
 * undici, loaded as soon as this module is: its ~40 ms of module evaluation
 * then falls in a process's start-up, while it waits on other I/O, rather than
 * in the first pull, where it held a server's event loop (Node's own fetch()
 * is no better: it loads its bundled undici on first use).
 */
const undici = import('undici');

/** Minimal client for the hub's download protocol; retries belong to the caller. */
export class HubClient {
  readonly endpoint: string;
  readonly #token: string | undefined;
  readonly #logger: Logger;
  readonly #userAgent: string;
  readonly #timeoutMs: number;
  /** The connection pool: keep-alive connections that the ranges of a parallel pull reuse. Made on first use. */
  #agent: Promise<Agent> | undefined;
  #closed = false;

  constructor(options: HubClientOptions) {
    this.endpoint = options.endpoint.replace(/\/+$/, '');
    this.#token = options.token;
    this.#logger = options.logger;
    this.#userAgent = options.userAgent ?? 'hearth';
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  get settings(): HubClientSettings {
    return { endpoint: this.endpoint, token: this.#token, userAgent: this.#userAgent, timeoutMs: this.#timeoutMs };
  }

  /** Closes the connections, cutting off any body still open (its pull was aborted first). Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    const agent = await this.#agent?.catch(() => undefined);
    if (agent && !agent.destroyed) await agent.destroy().catch(() => undefined);
  }

  #pool(): Promise<Agent> {
    // Bodies are watched by readIdleBody, with typed errors, so undici's own body timeout is off;
    // connecting and waiting for headers are bounded by HEARTH_PULL_TIMEOUT.
    this.#agent ??= undici.then(({ Agent }) => new Agent({ connectTimeout: this.#timeoutMs, headersTimeout: this.#timeoutMs, bodyTimeout: 0 }));
    return this.#agent;
  }

  resolveUrl(repo: string, revision: string, path: string): string {
    const encodedPath = path.split('/').map(encodeURIComponent).join('/');
    return `${this.endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${encodedPath}`;
  }

  /**
   * HEAD the resolve URL, following only redirects that come before the
   * metadata (a renamed repo); the response carrying X-Repo-Commit is the one
   * whose headers describe the file, and its Location is where the bytes are.
   */
  async fileMetadata(repo: string, revision: string, path: string, signal?: AbortSignal | undefined): Promise<FileMetadata> {
    let url = this.resolveUrl(repo, revision, path);
    const what = `${repo}/${path}@${revision}`;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const response = await this.request(url, { method: 'HEAD', signal, headers: { 'accept-encoding': 'identity' } }, what);
      const commit = response.header('x-repo-commit');
      const location = response.header('location');
      if (isRedirect(response.status) && location && !commit) {
        url = new URL(location, url).toString();
        continue;
      }
      if (!response.ok && !isRedirect(response.status)) throw hubError(response, what);
      const etag = normalizeEtag(response.header('x-linked-etag') ?? response.header('etag'));
      const size = Number(response.header('x-linked-size') ?? response.header('content-length'));
      if (!commit || !/^[0-9a-f]{40}$/.test(commit) || !etag || !/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(etag) || !Number.isSafeInteger(size)) {
        throw new HearthError('HUB_PROTOCOL', `hub gave incomplete metadata for ${what} (commit=${commit}, etag=${etag}, size=${size})`, {
          details: { url },
          hint: 'check HF_ENDPOINT points at a Hugging Face-compatible hub',
        });
      }
      return { commit, etag, size, location: location ? new URL(location, url).toString() : url };
    }
    throw new HearthError('HUB_PROTOCOL', `too many redirects resolving ${what}`);
  }

  /**
   * HEAD a plain URL, following redirects, for its size and, when it is a
   * hub-style server, the sha256 it advertises in X-Linked-Etag.
   */
  async headUrl(url: string, signal?: AbortSignal | undefined): Promise<{ location: string; size: number | undefined; sha256: string | undefined }> {
    let current = url;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const response = await this.request(current, { method: 'HEAD', signal, headers: { 'accept-encoding': 'identity' } }, url);
      const linked = normalizeEtag(response.header('x-linked-etag'));
      const linkedSize = response.header('x-linked-size');
      const next = response.header('location');
      if (isRedirect(response.status) && next && !linked) {
        current = new URL(next, current).toString();
        continue;
      }
      // Servers that refuse HEAD still serve GET; go ahead without a size.
      if (response.status === 405 || response.status === 501) return { location: current, size: undefined, sha256: undefined };
      if (!response.ok && !isRedirect(response.status)) throw hubError(response, url);
      const size = Number(linkedSize ?? response.header('content-length') ?? NaN);
      return {
        location: next ? new URL(next, current).toString() : current,
        size: Number.isSafeInteger(size) ? size : undefined,
        sha256: linked && /^[0-9a-f]{64}$/.test(linked) ? linked : undefined,
      };
    }
    throw new HearthError('HUB_PROTOCOL', `too many redirects for ${url}`);
  }

  /** Lists every file of a revision (recursive tree listing). Paths are validated before use. */
  async listFiles(repo: string, revision: string, signal?: AbortSignal | undefined): Promise<TreeEntry[]> {
    return (await this.listTree(repo, revision, signal)).files;
  }

  /**
   * The recursive tree listing, as huggingface_hub's list_repo_tree reads it:
   * pages follow the `Link: <…>; rel="next"` header, folders come back as
   * entries of type "directory" and are skipped, and every path is checked
   * before anything uses it — one unsafe name refuses the whole listing.
   * `commit` is the X-Repo-Commit the hub answered with, when it sends one.
   */
  async listTree(repo: string, revision: string, signal?: AbortSignal | undefined): Promise<{ files: TreeEntry[]; commit: string | undefined }> {
    const what = `${repo}@${revision}`;
    let url: string | undefined = `${this.endpoint}/api/models/${repo}/tree/${encodeURIComponent(revision)}?recursive=true`;
    const seen = new Set<string>();
    const files: TreeEntry[] = [];
    let commit: string | undefined;
    for (let page = 0; url; page++) {
      if (seen.has(url) || page >= MAX_TREE_PAGES) throw new HearthError('HUB_PROTOCOL', `tree listing of ${what} does not end (page ${page + 1})`, { details: { url } });
      seen.add(url);
      const response = await this.request(url, { signal }, what);
      if (!response.ok) throw hubError(response, what);
      const header = response.header('x-repo-commit') ?? '';
      const pageCommit = /^[0-9a-f]{40}$/.test(header) ? header : undefined;
      const body = (await this.#readJson(response, what, signal)) as Array<{ type: string; path: string; size: number; oid: string; lfs?: { oid: string; size: number } }>;
      if (page > 0 && pageCommit !== commit) {
        // A push landed between two pages: start again rather than mix two commits.
        throw new HearthError('HUB_UNAVAILABLE', `${repo} changed while its file list was being read`, { details: { retryable: true } });
      }
      commit = pageCommit;
      if (!Array.isArray(body)) throw new HearthError('HUB_PROTOCOL', `tree listing of ${repo} is not an array`);
      for (const entry of body) {
        if (entry?.type !== 'file') continue;
        files.push({
          path: assertSafeRepoPath(String(entry.path), `hub listing of ${repo}`),
          size: entry.lfs?.size ?? entry.size,
          etag: String(entry.lfs?.oid ?? entry.oid).toLowerCase(),
        });
      }
      const next = nextLink(response.header('link'));
      url = next ? new URL(next, url).toString() : undefined;
    }
    return { files, commit };
  }

  /**
   * GET the bytes from `start`, to `end` (inclusive) when given. With a
   * validator learned from an earlier response, If-Range makes a changed file
   * come back whole (200) instead of spliced; without one, the caller checks
   * the overlap and the final digest.
   */
  async openBody(location: string, options: { start: number; end?: number | undefined; ifRange?: string | undefined; signal?: AbortSignal | undefined }): Promise<HubResponse> {
    let url = location;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const headers: Record<string, string> = { 'accept-encoding': 'identity' };
      if (options.start > 0 || options.end !== undefined) {
        headers.range = `bytes=${options.start}-${options.end ?? ''}`;
        if (options.ifRange) headers['if-range'] = options.ifRange;
      }
      const response = await this.request(url, { signal: options.signal, headers }, url);
      const next = response.header('location');
      if (isRedirect(response.status) && next) {
        response.cancel();
        url = new URL(next, url).toString();
        continue;
      }
      if (response.status === 200 || response.status === 206 || response.status === 416) return response;
      throw hubError(response, url);
    }
    throw new HearthError('HUB_PROTOCOL', `too many redirects downloading ${location}`);
  }

  #headers(url: string, extra: Record<string, string> | undefined): Record<string, string> {
    const headers: Record<string, string> = { 'user-agent': this.#userAgent, ...extra };
    // The token goes only to the hub itself, never to a CDN or another host a redirect names.
    if (this.#token && new URL(url).origin === new URL(this.endpoint).origin) headers.authorization = `Bearer ${this.#token}`;
    return headers;
  }

  #networkError(error: unknown, url: string, what: string): HearthError {
    const origin = new URL(url).origin;
    const code = (error as { code?: string }).code;
    if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
      return new HearthError('HUB_UNAVAILABLE', `no response from ${origin} within ${this.#timeoutMs} ms for ${what}`, {
        cause: error,
        details: { url, retryable: true, timeoutMs: this.#timeoutMs },
      });
    }
    return new HearthError('HUB_UNAVAILABLE', `cannot reach ${origin} for ${what}: ${describeNetworkError(error)}`, { cause: error, details: { url, retryable: true } });
  }

  /**
   * One HTTP exchange, up to its response headers; network failures and a
   * server that does not answer within the timeout become retryable
   * HUB_UNAVAILABLE errors. Redirects are the caller's. The body is the
   * caller's to read: downloads watch it with their own idle timeout.
   */
  async request(url: string, init: { method?: 'GET' | 'HEAD'; signal?: AbortSignal | undefined; headers?: Record<string, string> }, what: string): Promise<HubResponse> {
    if (this.#closed) throw new HearthError('ABORTED', 'the store was disposed');
    const headers = this.#headers(url, init.headers);
    this.#logger.debug({ method: init.method ?? 'GET', url, range: headers.range }, 'hub request');
    try {
      const { request } = await undici;
      const response = await request(url, { method: init.method ?? 'GET', headers, signal: init.signal, dispatcher: await this.#pool() });
      const header = (name: string) => {
        const value = response.headers[name.toLowerCase()];
        return Array.isArray(value) ? value[0] : value;
      };
      const cancel = () => {
        // undici reports an unread body's destruction as an 'error' (RequestAbortedError): expected here.
        response.body.on('error', () => undefined);
        response.body.destroy();
      };
      const status = response.statusCode;
      return { status, ok: status >= 200 && status < 300, header, body: response.body, cancel };
    } catch (error) {
      if (init.signal?.aborted) throw new HearthError('ABORTED', 'download aborted', { cause: init.signal.reason ?? error });
      throw this.#networkError(error, url, what);
    }
  }

  /** Reads a JSON body, giving up (retryably) when it stalls for longer than the timeout between two chunks. */
  async #readJson(response: HubResponse, what: string, signal: AbortSignal | undefined): Promise<unknown> {
    const timeoutMs = this.#timeoutMs;
    const chunks: Buffer[] = [];
    // The body dies with the request's signal (see request()), so no abort listener of its own.
    const body = readIdleBody(response.body, {
      idleTimeoutMs: timeoutMs,
      signal,
      stalled: () => new HearthError('HUB_UNAVAILABLE', `${what}: the listing stalled for ${timeoutMs} ms`, { details: { retryable: true, timeoutMs } }),
      interrupted: (error) =>
        new HearthError('HUB_UNAVAILABLE', `${what}: the listing was cut off: ${describeNetworkError(error)}`, { cause: error, details: { retryable: true } }),
    });
    for await (const chunk of body) chunks.push(chunk);
    try {
      return JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch (error) {
      throw new HearthError('HUB_PROTOCOL', `tree listing of ${what} is not JSON`, { cause: error });
    }
  }
}

/** The `rel="next"` target of an RFC 8288 Link header, as GitHub and the hub send it. */
export function nextLink(header: string | null | undefined): string | undefined {
  for (const part of header?.split(/,(?=\s*<)/) ?? []) {
    const match = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (match && /;\s*rel\s*=\s*"?([^";]*\s)?next(\s[^";]*)?"?\s*(;|$)/i.test(match[2]!)) return match[1];
  }
  return undefined;
}

function isRedirect(status: number): boolean {
  return status >= 300 && status < 400;
}

/** Maps a failed hub response to a typed error, reading the hub's X-Error-Code; its body is dropped. */
function hubError(response: HubResponse, what: string, url?: string): HearthError {
  response.cancel();
  const hubCode = response.header('x-error-code');
  const details = { status: response.status, hubCode, url };
  if (response.status === 401 || response.status === 403) {
    const gated = hubCode === 'GatedRepo';
    return new HearthError('HUB_AUTH_REQUIRED', `hub refused access to ${what} (HTTP ${response.status}${gated ? ', gated repo' : ''})`, {
      details,
      hint: gated ? 'accept the model licence on the hub, then set HF_TOKEN' : 'set HF_TOKEN to a token that can read this repo (or check the repo id)',
    });
  }
  if (response.status === 404) {
    const what404 = hubCode === 'RevisionNotFound' ? 'revision not found' : hubCode === 'EntryNotFound' ? 'file not found' : 'repository not found';
    return new HearthError('MODEL_NOT_FOUND', `${what}: ${what404} on the hub`, { details });
  }
  const retryable = response.status >= 500 || response.status === 429 || response.status === 408;
  return new HearthError(retryable ? 'HUB_UNAVAILABLE' : 'HUB_PROTOCOL', `hub answered HTTP ${response.status} for ${what}`, {
    details: { ...details, retryable, retryAfter: response.header('retry-after') },
  });
}

function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}
