/**
 * A fake Hugging Face Hub for tests: a node:http server on 127.0.0.1 that speaks the hub's
 * download protocol (resolve, LFS redirect to a CDN, tree API) with fault injection,
 * throttling and counters.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface FakeFile { path: string; content: Buffer; lfs?: boolean }
export interface FakeRepoSpec {
  id: string;
  files: FakeFile[];
  commit?: string;
  revisions?: Record<string, string>;
  private?: boolean;
}
/**
 * Faults apply to the next `times` matching requests (default 1; Infinity for a standing mode).
 * `silent`: the hub accepts the request and never answers, not even headers (the request is held
 * until the client goes away or the hub closes). `stall-headers`: the answer is delayed by `ms`
 * before its headers are sent. Both apply to any request; the body faults (`drop`, `corrupt`,
 * `stall` after some bytes) only to GETs that send file bytes.
 */
export type Fault =
  | { kind: 'status'; status: number; times?: number }
  | { kind: 'silent'; times?: number }
  | { kind: 'stall-headers'; ms: number; times?: number }
  | { kind: 'drop'; afterBytes: number; times?: number }
  /** Flips every byte of the body, or only the one at `byte` (an offset into this response's body). */
  | { kind: 'corrupt'; byte?: number; times?: number }
  | { kind: 'stall'; afterBytes: number; ms: number; times?: number };
/**
 * Which requests a fault applies to. `listing: true` aims it at tree listings only, and then the
 * body faults (`drop`, `corrupt`, `stall`) apply to the listing's JSON body too; without it, body
 * faults never touch a listing.
 */
export interface FaultTarget {
  path?: string;
  method?: 'GET' | 'HEAD';
  listing?: boolean;
  /** Only a ranged GET whose Range starts at this byte: one piece of a parallel download. */
  rangeStart?: number;
}
export interface PathStats { gets: number; bytesSent: number; fullGets: number }
export interface HubStats {
  requests: number; heads: number; gets: number; bodyGets: number; rangeGets: number;
  treeGets: number; bytesSent: number; byPath: Map<string, PathStats>;
  /** File bodies being sent right now: 0 once every client that went away has been noticed. */
  bodiesOpen: number;
}
export interface FakeHub {
  url: string;
  token: string;
  addRepo(spec: FakeRepoSpec): { commit: string; sha256(path: string): string; gitSha1(path: string): string };
  pushCommit(id: string, files: FakeFile[]): string;
  inject(fault: Fault, target?: FaultTarget): void;
  /** Drops faults not yet consumed, so one test's leftovers never leak into the next. */
  clearFaults(): void;
  throttle(bytesPerSecond: number | null): void;
  /** Pages tree listings longer than `size` entries, with a `Link: <…>; rel="next"` header as the hub does (null: one page). */
  pageTree(size: number | null): void;
  stats: HubStats;
  resetStats(): void;
  /** Back to the state the hub started in, repos kept: no faults, stats, paging, and the start-up throttle. */
  reset(): void;
  close(): Promise<void>;
}
export interface FakeHubOptions {
  token?: string;
  throttle?: number;
  /** Send `Location: http://127.0.0.1:port/cdn/...` instead of a relative `/cdn/...`. */
  absoluteRedirects?: boolean;
  /** Tree listing page size (the real hub's is 1,000 entries, 50 with expand=true); unset = one page. */
  treePageSize?: number;
  /** false: a server that ignores Range and always sends the whole file (200). */
  ranges?: boolean;
}

interface Blob { path: string; bytes: Buffer; lfs: boolean; sha256: string; gitSha1: string }
interface Repo { id: string; private: boolean; commits: Map<string, Map<string, Blob>>; refs: Map<string, string> }
type Headers = Record<string, string | number>;
interface Reply { status: number; headers: Headers; text?: string; file?: { bytes: Buffer; path: string } }
type Route =
  | { kind: 'resolve' | 'tree'; repoId: string; rev: string; path: string }
  | { kind: 'cdn'; sha: string; path: string | undefined };
type BodyFault = Extract<Fault, { kind: 'drop' | 'corrupt' | 'stall' }>;
const HEADER_FAULTS: ReadonlySet<Fault['kind']> = new Set(['status', 'silent', 'stall-headers']);

const LFS_EXT = /\.(gguf|onnx|bin|safetensors)$/i;
const sha1 = (...parts: (string | Buffer)[]) => parts.reduce((h, p) => h.update(p), createHash('sha1')).digest('hex');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const gitBlobSha1 = (b: Buffer) => sha1(`blob ${b.length}\0`, b);
const lfsPointer = (oid: string, size: number) =>
  Buffer.from(`version https://git-lfs.github.com/spec/v1\noid sha256:${oid}\nsize ${size}\n`);

function makeBlob(f: FakeFile): Blob {
  const lfs = f.lfs ?? (LFS_EXT.test(f.path) || f.content.length > 10 * 1024);
  const oid = sha256(f.content);
  // Like git, an LFS file's blob is its pointer, so its git oid is the pointer's sha1.
  const gitSha1 = gitBlobSha1(lfs ? lfsPointer(oid, f.content.length) : f.content);
  return { path: f.path, bytes: f.content, lfs, sha256: oid, gitSha1 };
}

/** The blob name the hub (and so huggingface_hub) gives a file: sha256 for LFS files, the git blob sha1 otherwise. */
export function blobName(f: FakeFile): string {
  const blob = makeBlob(f);
  return blob.lfs ? blob.sha256 : blob.gitSha1;
}

function commitId(salt: string, files: FakeFile[]): string {
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : 1));
  return sha1(salt, ...sorted.flatMap((f) => [`\0${f.path}\0`, f.content]));
}

function errorReply(status: number, code: string, message: string, headers: Headers = {}): Reply {
  return { status, headers: { ...headers, 'X-Error-Code': code, 'X-Error-Message': message }, text: JSON.stringify({ error: message }) };
}

function corrupted(bytes: Buffer, byte: number | undefined): Buffer {
  if (byte === undefined) return Buffer.from(bytes.map((b) => b ^ 0xff));
  const copy = Buffer.from(bytes);
  copy[byte] = copy[byte]! ^ 0x01;
  return copy;
}

/** Parses a single-range `Range` header: null = ignore it (serve 200), 'unsatisfiable' = 416. */
function parseRange(header: string | undefined, size: number): [number, number] | null | 'unsatisfiable' {
  const m = header?.match(/^bytes=(\d*)-(\d*)$/);
  const [from, to] = [m?.[1] ?? '', m?.[2] ?? ''];
  if (!m || (from === '' && to === '')) return null;
  const start = from === '' ? Math.max(0, size - Number(to)) : Number(from);
  const end = from === '' || to === '' ? size - 1 : Math.min(Number(to), size - 1);
  if (from !== '' && to !== '' && Number(to) < start) return null;
  return start >= size || (from === '' && Number(to) === 0) ? 'unsatisfiable' : [start, end];
}

/** Serves file bytes with the Range / If-Range semantics of the hub and its CDN. */
function blobReply(req: IncomingMessage, bytes: Buffer, etag: string, path: string, headers: Headers = {}, ranges = true): Reply {
  const base = { ...headers, ETag: etag, ...(ranges ? { 'Accept-Ranges': 'bytes' } : {}) };
  const ifRange = req.headers['if-range'];
  const range = ranges ? parseRange(ifRange === undefined || ifRange === etag ? req.headers.range : undefined, bytes.length) : null;
  if (range === 'unsatisfiable') {
    return { status: 416, headers: { ...base, 'Content-Range': `bytes */${bytes.length}`, 'Content-Length': 0 } };
  }
  if (!range) return { status: 200, headers: { ...base, 'Content-Length': bytes.length }, file: { bytes, path } };
  const [start, end] = range;
  return {
    status: 206,
    headers: { ...base, 'Content-Range': `bytes ${start}-${end}/${bytes.length}`, 'Content-Length': end - start + 1 },
    file: { bytes: bytes.subarray(start, end + 1), path },
  };
}

function parseRoute(url: URL): Route | undefined {
  let seg: string[];
  try {
    // Split before decoding so an encoded revision like refs%2Fpr%2F1 stays one segment.
    seg = url.pathname.split('/').slice(1).map(decodeURIComponent);
  } catch {
    return undefined;
  }
  const rest = (from: number) => seg.slice(from).filter(Boolean).join('/');
  if (seg[0] === 'cdn' && seg.length === 2) return { kind: 'cdn', sha: seg[1] ?? '', path: url.searchParams.get('path') ?? undefined };
  if (seg[0] === 'api' && seg[1] === 'models' && seg[4] === 'tree' && seg.length >= 6) {
    return { kind: 'tree', repoId: `${seg[2]}/${seg[3]}`, rev: seg[5] ?? '', path: rest(6) };
  }
  if (seg[2] === 'resolve' && seg.length >= 5) return { kind: 'resolve', repoId: `${seg[0]}/${seg[1]}`, rev: seg[3] ?? '', path: rest(4) };
  return undefined;
}

/** Entries of the tree API for `prefix`; undefined when the directory does not exist. */
function treeEntries(files: Map<string, Blob>, commit: string, prefix: string, recursive: boolean): unknown[] | undefined {
  const entries = new Map<string, unknown>();
  const dir = (path: string) => entries.set(path, { type: 'directory', oid: sha1(commit, ':', path), size: 0, path });
  for (const b of files.values()) {
    if (prefix && !b.path.startsWith(`${prefix}/`)) continue;
    const parts = (prefix ? b.path.slice(prefix.length + 1) : b.path).split('/');
    const under = (n: number) => [prefix, ...parts.slice(0, n)].filter(Boolean).join('/');
    if (!recursive && parts.length > 1) {
      dir(under(1));
      continue;
    }
    for (let i = 1; i < parts.length; i++) dir(under(i));
    const lfs = b.lfs ? { lfs: { oid: b.sha256, size: b.bytes.length, pointerSize: lfsPointer(b.sha256, b.bytes.length).length } } : {};
    entries.set(b.path, { type: 'file', oid: b.gitSha1, size: b.bytes.length, path: b.path, ...lfs });
  }
  if (prefix && entries.size === 0) return undefined;
  return [...entries].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, e]) => e);
}

/** Writes and waits until the socket accepted the chunk, so a later destroy cannot discard it. */
function write(res: ServerResponse, chunk: Buffer, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new Error('client went away'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    res.write(chunk, (err) => {
      signal.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    });
  });
}

export async function startFakeHub(opts: FakeHubOptions = {}): Promise<FakeHub> {
  const token = opts.token ?? `hf_fake_${randomBytes(12).toString('hex')}`;
  const repos = new Map<string, Repo>();
  const cdn = new Map<string, Blob>(); // sha256 -> blob; the CDN is content-addressed across repos
  const faults: { fault: Fault; target: FaultTarget; left: number }[] = [];
  let rate: number | null = opts.throttle ?? null;
  let pageSize: number | null = opts.treePageSize ?? null;
  const stats: HubStats = { requests: 0, heads: 0, gets: 0, bodyGets: 0, rangeGets: 0, treeGets: 0, bytesSent: 0, byPath: new Map(), bodiesOpen: 0 };

  const pathStats = (path: string): PathStats => {
    let s = stats.byPath.get(path);
    if (!s) stats.byPath.set(path, (s = { gets: 0, bytesSent: 0, fullGets: 0 }));
    return s;
  };

  function commitFiles(repo: Repo, commit: string, files: FakeFile[]) {
    const blobs = new Map(files.map((f) => [f.path, makeBlob(f)] as const));
    for (const b of blobs.values()) if (b.lfs) cdn.set(b.sha256, b);
    repo.commits.set(commit, blobs);
    repo.refs.set('main', commit);
    return blobs;
  }

  /** Finds the repo snapshot a resolve/tree request addresses, or the error the hub would answer. */
  function snapshot(req: IncomingMessage, repoId: string, rev: string) {
    const repo = repos.get(repoId);
    if (!repo) return errorReply(404, 'RepoNotFound', `Repository not found: ${repoId}`);
    // The hub hides private repos from anonymous callers behind a 401 RepoNotFound.
    if (repo.private && req.headers.authorization !== `Bearer ${token}`) {
      return errorReply(401, 'RepoNotFound', `Repository not found: ${repoId}`);
    }
    const commit = repo.refs.get(rev) ?? (/^[0-9a-f]{40}$/.test(rev) && repo.commits.has(rev) ? rev : undefined);
    const files = commit && repo.commits.get(commit);
    if (!commit || !files) return errorReply(404, 'RevisionNotFound', `Invalid rev id: ${rev}`);
    return { commit, files };
  }

  function plan(req: IncomingMessage, route: Route): Reply {
    if (route.kind === 'cdn') {
      const blob = cdn.get(route.sha);
      if (!blob) return { status: 404, headers: {}, text: 'NoSuchKey' };
      return blobReply(req, blob.bytes, `"${blob.sha256}"`, route.path ?? blob.path, {}, opts.ranges ?? true);
    }
    const snap = snapshot(req, route.repoId, route.rev);
    if ('status' in snap) return snap;
    const commitHeader = { 'X-Repo-Commit': snap.commit };
    if (route.kind === 'tree') {
      const url = new URL(req.url ?? '/', hub.url);
      const recursive = ['true', '1'].includes(url.searchParams.get('recursive') ?? '');
      const entries = treeEntries(snap.files, snap.commit, route.path, recursive);
      if (!entries) return errorReply(404, 'EntryNotFound', `Entry not found: ${route.path}`, commitHeader);
      const headers: Headers = { ...commitHeader, 'Content-Type': 'application/json' };
      if (!pageSize || entries.length <= pageSize) return { status: 200, headers, text: JSON.stringify(entries) };
      // Like the hub: an opaque cursor in the query, and an absolute next-page URL in a Link header.
      const cursor = url.searchParams.get('cursor');
      const offset = cursor === null ? 0 : Number(Buffer.from(cursor, 'base64url').toString());
      if (!Number.isSafeInteger(offset) || offset < 0 || offset > entries.length) return errorReply(400, 'BadRequest', 'Invalid cursor');
      if (offset + pageSize < entries.length) {
        url.searchParams.set('cursor', Buffer.from(String(offset + pageSize)).toString('base64url'));
        headers.Link = `<${url}>; rel="next"`;
      }
      return { status: 200, headers, text: JSON.stringify(entries.slice(offset, offset + pageSize)) };
    }
    const blob = snap.files.get(route.path);
    if (!blob) return errorReply(404, 'EntryNotFound', `Entry not found: ${route.path}`, commitHeader);
    if (!blob.lfs) return blobReply(req, blob.bytes, `"${blob.gitSha1}"`, blob.path, commitHeader, opts.ranges ?? true);
    const query = new URLSearchParams({ repo: route.repoId, path: blob.path });
    const location = `${opts.absoluteRedirects ? hub.url : ''}/cdn/${blob.sha256}?${query}`;
    const etag = `"${blob.sha256}"`;
    return {
      status: 302,
      headers: { ...commitHeader, Location: location, ETag: etag, 'X-Linked-Etag': etag, 'X-Linked-Size': blob.bytes.length, 'Content-Length': 0 },
    };
  }

  /** Consumes the first queued fault that applies; body faults only apply to GETs that send file bytes, or a listing they target. */
  function takeFault(method: string, path: string, bodyGet: boolean, listing: boolean, rangeStart: number | undefined): Fault | undefined {
    const i = faults.findIndex(({ fault, target }) =>
      (target.rangeStart === undefined || target.rangeStart === rangeStart) &&
      (target.listing === undefined || target.listing === listing) &&
      (HEADER_FAULTS.has(fault.kind) || bodyGet || (target.listing === true && method === 'GET')) &&
      (target.path === undefined || target.path === path) &&
      (target.method === undefined || target.method === method));
    const entry = faults[i];
    if (!entry) return undefined;
    if (--entry.left <= 0) faults.splice(i, 1);
    return entry.fault;
  }

  /** Streams file bytes in paced chunks, applying drop/stall faults; resolves true if all bytes were written. */
  async function pump(res: ServerResponse, bytes: Buffer, fault: BodyFault | undefined, count: (n: number) => void, signal: AbortSignal) {
    const limit = fault?.kind === 'drop' ? Math.min(fault.afterBytes, bytes.length) : bytes.length;
    const stallAt = fault?.kind === 'stall' ? fault.afterBytes : -1;
    let pace = { start: performance.now(), sent: 0, rate };
    let sent = 0;
    stats.bodiesOpen++;
    try {
      for (;;) {
        if (sent === stallAt && fault?.kind === 'stall') {
          await sleep(fault.ms, undefined, { signal });
          pace = { start: performance.now(), sent: 0, rate }; // no catch-up burst after a stall
        }
        if (sent >= limit) break;
        if (pace.rate !== rate) pace = { start: performance.now(), sent: 0, rate };
        const chunkSize = rate ? Math.min(64 * 1024, Math.max(1024, Math.floor(rate / 20))) : 64 * 1024;
        const n = Math.min(chunkSize, limit - sent, stallAt > sent ? stallAt - sent : Infinity);
        // Delay each chunk until a link of `rate` bytes/s would have delivered its last byte.
        const wait = rate ? pace.start + ((pace.sent + n) / rate) * 1000 - performance.now() : 0;
        if (wait > 0) await sleep(wait, undefined, { signal });
        await write(res, bytes.subarray(sent, sent + n), signal);
        sent += n;
        pace.sent += n;
        count(n);
      }
    } catch {
      return false; // client disconnected (or hub closed) mid-body
    } finally {
      stats.bodiesOpen--;
    }
    if (fault?.kind !== 'drop') return true;
    res.destroy();
    return false;
  }

  async function send(req: IncomingMessage, res: ServerResponse, reply: Reply, signal: AbortSignal, fault: BodyFault | undefined) {
    res.writeHead(reply.status, reply.headers);
    if (!reply.file || req.method !== 'GET') {
      // A body fault aimed at a listing (see FaultTarget): its JSON goes out through the same pump as file bytes.
      if (!fault || reply.text === undefined || req.method !== 'GET') return void res.end(reply.text);
      const text = Buffer.from(reply.text);
      if (await pump(res, fault.kind === 'corrupt' ? Buffer.from(text.map((b) => b ^ 0xff)) : text, fault, () => undefined, signal)) res.end();
      return;
    }
    const { path } = reply.file;
    const ps = pathStats(path);
    stats.bodyGets++;
    ps.gets++;
    if (reply.status === 206) stats.rangeGets++;
    // Corruption flips bytes, so any checksum notices while the length stays the same.
    const bytes = fault?.kind === 'corrupt' ? corrupted(reply.file.bytes, fault.byte) : reply.file.bytes;
    const count = (n: number) => { stats.bytesSent += n; ps.bytesSent += n; };
    if (await pump(res, bytes, fault, count, signal)) {
      res.end(() => { if (reply.status === 200) ps.fullGets++; });
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const abort = new AbortController();
    res.once('close', () => abort.abort());
    stats.requests++;
    if (req.method === 'HEAD') stats.heads++;
    if (req.method === 'GET') stats.gets++;
    const route = parseRoute(new URL(req.url ?? '/', 'http://fake-hub'));
    if (!route || (req.method !== 'GET' && req.method !== 'HEAD')) return void res.writeHead(404).end('Not Found');
    if (route.kind === 'tree' && req.method === 'GET') stats.treeGets++;
    const reply = plan(req, route);
    const path = reply.file?.path ?? route.path ?? '';
    const rangeStart = reply.status === 206 ? Number(/^bytes=(\d+)-/.exec(req.headers.range ?? '')?.[1]) : undefined;
    const fault = takeFault(req.method, path, req.method === 'GET' && reply.file !== undefined, route.kind === 'tree', rangeStart);
    if (fault?.kind === 'status') {
      return send(req, res, { status: fault.status, headers: {}, text: JSON.stringify({ error: 'injected fault' }) }, abort.signal, undefined);
    }
    // Never answered: the socket stays open until the client gives up or close() destroys it.
    if (fault?.kind === 'silent') return;
    if (fault?.kind === 'stall-headers') {
      try {
        await sleep(fault.ms, undefined, { signal: abort.signal });
      } catch {
        return; // the client went away first
      }
      return send(req, res, reply, abort.signal, undefined);
    }
    return send(req, res, reply, abort.signal, fault);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const hub: FakeHub = {
    url: `http://127.0.0.1:${port}`,
    token,
    stats,
    addRepo(spec) {
      if (repos.has(spec.id)) throw new Error(`fake hub: repo ${spec.id} already exists`);
      const repo: Repo = { id: spec.id, private: spec.private ?? false, commits: new Map(), refs: new Map() };
      const commit = spec.commit ?? commitId(spec.id, spec.files);
      const blobs = commitFiles(repo, commit, spec.files);
      for (const [name, target] of Object.entries(spec.revisions ?? {})) {
        if (!repo.commits.has(target)) throw new Error(`fake hub: revision ${name} points to unknown commit ${target}`);
        if (name !== 'main') repo.refs.set(name, target);
      }
      repos.set(spec.id, repo);
      const blob = (path: string) => {
        const b = blobs.get(path);
        if (!b) throw new Error(`fake hub: no file ${path} in ${spec.id}@${commit}`);
        return b;
      };
      return { commit, sha256: (p) => blob(p).sha256, gitSha1: (p) => blob(p).gitSha1 };
    },
    pushCommit(id, files) {
      const repo = repos.get(id);
      const parent = repo?.refs.get('main');
      if (!repo || !parent) throw new Error(`fake hub: unknown repo ${id}`);
      const commit = commitId(`${id}\0${parent}`, files);
      commitFiles(repo, commit, files);
      return commit;
    },
    inject(fault, target = {}) {
      const times = fault.times ?? 1;
      if (times > 0) faults.push({ fault, target, left: times });
    },
    clearFaults() {
      faults.length = 0;
    },
    throttle(bytesPerSecond) {
      rate = bytesPerSecond && bytesPerSecond > 0 ? bytesPerSecond : null;
    },
    pageTree(size) {
      pageSize = size && size > 0 ? size : null;
    },
    resetStats() {
      Object.assign(stats, { requests: 0, heads: 0, gets: 0, bodyGets: 0, rangeGets: 0, treeGets: 0, bytesSent: 0 });
      stats.byPath.clear();
    },
    reset() {
      hub.resetStats();
      hub.clearFaults();
      hub.pageTree(null);
      hub.throttle(opts.throttle ?? null);
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
  return hub;
}
