import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { waitFor } from '../support/wait.js';
import { startFakeHub, type FakeHub, type FakeHubOptions } from '../support/fake-hub.js';

const MODEL = 'org/tiny-model';
const weights = randomBytes(300 * 1024);
const config = Buffer.from('{"arch":"llama"}\n');
const sha256 = (b: Buffer | Uint8Array) => createHash('sha256').update(b).digest('hex');

async function hubWithModel(t: TestContext, opts?: FakeHubOptions): Promise<FakeHub> {
  const hub = await startFakeHub(opts);
  t.after(() => hub.close());
  hub.addRepo({
    id: MODEL,
    files: [
      { path: 'model.gguf', content: weights },
      { path: 'config.json', content: config },
      { path: 'sub/dir/extra.bin', content: Buffer.from('extra') },
      { path: 'sub/notes.txt', content: Buffer.from('notes') },
    ],
  });
  return hub;
}

const resolveUrl = (hub: FakeHub, path: string, rev = 'main', repo = MODEL) =>
  `${hub.url}/${repo}/resolve/${encodeURIComponent(rev)}/${path}`;

/** Reads a body until it ends or the connection breaks; returns the bytes received. */
async function readUntilError(res: Response): Promise<{ bytes: number; failed: boolean }> {
  const reader = res.body!.getReader();
  let bytes = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { bytes, failed: false };
      bytes += value.length;
    }
  } catch {
    return { bytes, failed: true };
  }
}

test('HEAD resolve of an LFS file redirects to the CDN with linked metadata', async (t) => {
  const hub = await hubWithModel(t);
  const res = await fetch(resolveUrl(hub, 'model.gguf'), { method: 'HEAD', redirect: 'manual' });
  assert.equal(res.status, 302);
  const oid = sha256(weights);
  assert.equal(res.headers.get('x-linked-etag'), `"${oid}"`);
  assert.equal(res.headers.get('x-linked-size'), String(weights.length));
  assert.equal(res.headers.get('etag'), `"${oid}"`);
  assert.equal(res.headers.get('content-length'), '0');
  assert.match(res.headers.get('x-repo-commit') ?? '', /^[0-9a-f]{40}$/);
  assert.match(res.headers.get('location') ?? '', new RegExp(`^/cdn/${oid}\\?`));
});

test('absoluteRedirects option gives an absolute Location', async (t) => {
  const hub = await hubWithModel(t, { absoluteRedirects: true });
  const res = await fetch(resolveUrl(hub, 'model.gguf'), { method: 'HEAD', redirect: 'manual' });
  assert.ok(res.headers.get('location')?.startsWith(`${hub.url}/cdn/`));
});

test('GET resolve follows the redirect to content with the right sha256', async (t) => {
  const hub = await hubWithModel(t);
  const res = await fetch(resolveUrl(hub, 'model.gguf'));
  assert.equal(res.status, 200);
  assert.equal(sha256(new Uint8Array(await res.arrayBuffer())), sha256(weights));
  assert.equal(hub.stats.bodyGets, 1);
  assert.deepEqual(hub.stats.byPath.get('model.gguf'), { gets: 1, bytesSent: weights.length, fullGets: 1 });
});

test('non-LFS files are served inline with a git blob ETag', async (t) => {
  const hub = await hubWithModel(t);
  const res = await fetch(resolveUrl(hub, 'config.json'), { redirect: 'manual' });
  assert.equal(res.status, 200);
  const gitSha = createHash('sha1').update(`blob ${config.length}\0`).update(config).digest('hex');
  assert.equal(res.headers.get('etag'), `"${gitSha}"`);
  assert.equal(res.headers.get('accept-ranges'), 'bytes');
  assert.ok(res.headers.get('x-repo-commit'));
  assert.deepEqual(Buffer.from(await res.arrayBuffer()), config);
});

test('Range requests give 206, If-Range mismatch gives 200, out of range gives 416', async (t) => {
  const hub = await hubWithModel(t);
  const url = resolveUrl(hub, 'model.gguf');
  const etag = `"${sha256(weights)}"`;

  const partial = await fetch(url, { headers: { Range: 'bytes=100-199' } });
  assert.equal(partial.status, 206);
  assert.equal(partial.headers.get('content-range'), `bytes 100-199/${weights.length}`);
  assert.deepEqual(Buffer.from(await partial.arrayBuffer()), weights.subarray(100, 200));

  const tail = await fetch(url, { headers: { Range: 'bytes=1000-', 'If-Range': etag } });
  assert.equal(tail.status, 206);
  assert.equal((await tail.arrayBuffer()).byteLength, weights.length - 1000);

  const stale = await fetch(url, { headers: { Range: 'bytes=1000-', 'If-Range': '"stale"' } });
  assert.equal(stale.status, 200);
  assert.equal((await stale.arrayBuffer()).byteLength, weights.length);

  const beyond = await fetch(url, { headers: { Range: `bytes=${weights.length}-` } });
  assert.equal(beyond.status, 416);
  assert.equal(beyond.headers.get('content-range'), `bytes */${weights.length}`);
  await beyond.arrayBuffer();

  assert.equal(hub.stats.rangeGets, 2);
  assert.equal(hub.stats.byPath.get('model.gguf')?.fullGets, 1);
});

test('tree listing, recursive and not', async (t) => {
  const hub = await hubWithModel(t);
  type Entry = { type: string; path: string; oid: string; size: number; lfs?: { oid: string; size: number } };
  const tree = async (suffix: string) => (await (await fetch(`${hub.url}/api/models/${MODEL}/tree/main${suffix}`)).json()) as Entry[];

  const top = await tree('');
  assert.deepEqual(top.map((e) => `${e.type}:${e.path}`), ['file:config.json', 'file:model.gguf', 'directory:sub']);
  const gguf = top.find((e) => e.path === 'model.gguf');
  assert.deepEqual(gguf?.lfs && { oid: gguf.lfs.oid, size: gguf.lfs.size }, { oid: sha256(weights), size: weights.length });
  assert.equal(top.find((e) => e.path === 'config.json')?.lfs, undefined);

  const all = await tree('?recursive=true');
  assert.deepEqual(all.map((e) => e.path), ['config.json', 'model.gguf', 'sub', 'sub/dir', 'sub/dir/extra.bin', 'sub/notes.txt']);
  assert.deepEqual((await tree('/sub')).map((e) => e.path), ['sub/dir', 'sub/notes.txt']);
  assert.equal((await tree('/sub?recursive=1')).length, 3);
  assert.equal(hub.stats.treeGets, 4);
});

test('paged tree listing: a Link to each next page, none on the last, and a bad cursor is a 400', async (t) => {
  const hub = await hubWithModel(t);
  hub.pageTree(4);
  type Entry = { path: string };
  const pages: string[][] = [];
  let url: string | undefined = `${hub.url}/api/models/${MODEL}/tree/main?recursive=true`;
  while (url) {
    const res = await fetch(url);
    assert.equal(res.status, 200);
    pages.push(((await res.json()) as Entry[]).map((e) => e.path));
    url = /^<([^>]+)>;\s*rel="next"$/.exec(res.headers.get('link') ?? '')?.[1];
  }
  assert.deepEqual(pages, [['config.json', 'model.gguf', 'sub', 'sub/dir'], ['sub/dir/extra.bin', 'sub/notes.txt']]);
  const bad = await fetch(`${hub.url}/api/models/${MODEL}/tree/main?recursive=true&cursor=bm90LWEtbnVtYmVy`);
  assert.equal(bad.status, 400);
  hub.pageTree(null);
  assert.equal((await fetch(`${hub.url}/api/models/${MODEL}/tree/main?recursive=true`)).headers.get('link'), null, 'unpaged: one page');
});

test('404s carry the hub error codes', async (t) => {
  const hub = await hubWithModel(t);
  const code = async (url: string) => {
    const res = await fetch(url, { method: 'HEAD', redirect: 'manual' });
    return `${res.status} ${res.headers.get('x-error-code')}`;
  };
  assert.equal(await code(resolveUrl(hub, 'model.gguf', 'main', 'org/missing')), '404 RepoNotFound');
  assert.equal(await code(resolveUrl(hub, 'model.gguf', 'refs/pr/1')), '404 RevisionNotFound');
  assert.equal(await code(resolveUrl(hub, 'nope.gguf')), '404 EntryNotFound');
  assert.equal(await code(`${hub.url}/api/models/${MODEL}/tree/main/nope`), '404 EntryNotFound');
  assert.equal((await fetch(`${hub.url}/something/else`)).status, 404);
});

test('private repos answer 401 without a token and serve with one', async (t) => {
  const hub = await hubWithModel(t);
  hub.addRepo({ id: 'org/secret', private: true, files: [{ path: 'w.gguf', content: Buffer.from('secret') }] });
  const url = resolveUrl(hub, 'w.gguf', 'main', 'org/secret');

  const anon = await fetch(url, { method: 'HEAD', redirect: 'manual' });
  assert.equal(anon.status, 401);
  assert.equal(anon.headers.get('x-error-code'), 'RepoNotFound');
  const wrong = await fetch(url, { method: 'HEAD', headers: { Authorization: 'Bearer nope' } });
  assert.equal(wrong.status, 401);

  const res = await fetch(url, { headers: { Authorization: `Bearer ${hub.token}` } });
  assert.equal(res.status, 200);
  assert.equal(Buffer.from(await res.arrayBuffer()).toString(), 'secret');
});

test('a drop fault cuts the body short and the bytes are counted', async (t) => {
  const hub = await hubWithModel(t);
  hub.inject({ kind: 'drop', afterBytes: 50_000 }, { path: 'model.gguf' });
  const first = await readUntilError(await fetch(resolveUrl(hub, 'model.gguf')));
  assert.deepEqual(first, { bytes: 50_000, failed: true });
  assert.equal(hub.stats.bytesSent, 50_000);
  assert.deepEqual(hub.stats.byPath.get('model.gguf'), { gets: 1, bytesSent: 50_000, fullGets: 0 });

  // The fault is used up: a resumed request completes.
  const rest = await fetch(resolveUrl(hub, 'model.gguf'), { headers: { Range: 'bytes=50000-' } });
  assert.equal(rest.status, 206);
  assert.equal((await rest.arrayBuffer()).byteLength, weights.length - 50_000);
  assert.equal(hub.stats.bytesSent, weights.length);
});

test('a status fault answers once, then the request succeeds', async (t) => {
  const hub = await hubWithModel(t);
  hub.inject({ kind: 'status', status: 500 });
  const failed = await fetch(resolveUrl(hub, 'config.json'));
  assert.equal(failed.status, 500);
  await failed.arrayBuffer();
  const ok = await fetch(resolveUrl(hub, 'config.json'));
  assert.equal(ok.status, 200);
  assert.deepEqual(Buffer.from(await ok.arrayBuffer()), config);
  assert.equal(hub.stats.requests, 2);
  assert.equal(hub.stats.bodyGets, 1);
});

test('status faults honour method targets and times', async (t) => {
  const hub = await hubWithModel(t);
  hub.inject({ kind: 'status', status: 503, times: 2 }, { method: 'GET' });
  assert.equal((await fetch(resolveUrl(hub, 'config.json'), { method: 'HEAD' })).status, 200);
  for (const expected of [503, 503, 200]) {
    const res = await fetch(resolveUrl(hub, 'config.json'));
    await res.arrayBuffer();
    assert.equal(res.status, expected);
  }
});

test('a corrupt fault sends different bytes of the same length', async (t) => {
  const hub = await hubWithModel(t);
  hub.inject({ kind: 'corrupt' });
  const bad = Buffer.from(await (await fetch(resolveUrl(hub, 'model.gguf'))).arrayBuffer());
  assert.equal(bad.length, weights.length);
  assert.notEqual(sha256(bad), sha256(weights));
  const good = Buffer.from(await (await fetch(resolveUrl(hub, 'model.gguf'))).arrayBuffer());
  assert.equal(sha256(good), sha256(weights));
});

test('a stall fault pauses mid-body', async (t) => {
  const hub = await hubWithModel(t);
  hub.inject({ kind: 'stall', afterBytes: 1000, ms: 300 });
  const started = performance.now();
  const body = await (await fetch(resolveUrl(hub, 'model.gguf'))).arrayBuffer();
  assert.equal(body.byteLength, weights.length);
  assert.ok(performance.now() - started >= 280);
});

test('throttle paces the body at the configured rate, and lifting it speeds up a body already under way', async (t) => {
  const hub = await startFakeHub();
  t.after(() => hub.close());
  const big = randomBytes(1_000_000);
  hub.addRepo({ id: 'org/big', files: [{ path: 'big.safetensors', content: big }] });
  hub.throttle(1_000_000);
  const started = performance.now();
  const body = await (await fetch(resolveUrl(hub, 'big.safetensors', 'main', 'org/big'))).arrayBuffer();
  const elapsed = performance.now() - started;
  assert.equal(body.byteLength, big.length);
  // A lower bound only: a busy machine makes the body slower, never faster, than the rate allows.
  assert.ok(elapsed >= 800, `took ${elapsed} ms`);

  // At 10 kB/s the body would take 100 s: the hub has sent a small part of it when the first bytes arrive,
  // and once the throttle is lifted the rest comes without waiting for the rate.
  hub.resetStats();
  hub.throttle(10_000);
  const reader = (await fetch(resolveUrl(hub, 'big.safetensors', 'main', 'org/big'))).body!.getReader();
  let received = (await reader.read()).value?.length ?? 0;
  assert.ok(received > 0);
  assert.ok(hub.stats.bytesSent < big.length / 10, `paced: ${hub.stats.bytesSent} bytes sent so far`);
  hub.throttle(null);
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) received += chunk.value.length;
  assert.equal(received, big.length);
  assert.equal(hub.stats.byPath.get('big.safetensors')?.fullGets, 1);
});

test('an aborted throttled download does not break the hub', async (t) => {
  const hub = await hubWithModel(t, { throttle: 100_000 });
  const ac = new AbortController();
  const res = await fetch(resolveUrl(hub, 'model.gguf'), { signal: ac.signal });
  await res.body!.getReader().read();
  ac.abort();
  await waitFor(() => hub.stats.bodiesOpen === 0, { what: 'the hub to notice the abort' });
  const sent = hub.stats.bytesSent;
  assert.ok(sent > 0 && sent < weights.length, 'stopped sending after the abort, before the end');
  assert.equal(hub.stats.byPath.get('model.gguf')?.fullGets, 0);
});

test('pushCommit moves main while the old commit still resolves', async (t) => {
  const hub = await startFakeHub();
  t.after(() => hub.close());
  const v1 = 'a'.repeat(40);
  const repo = 'org/evolving';
  hub.addRepo({ id: repo, commit: v1, revisions: { 'refs/pr/1': v1 }, files: [{ path: 'w.gguf', content: Buffer.from('v1') }] });
  const v2 = hub.pushCommit(repo, [{ path: 'w.gguf', content: Buffer.from('v2') }]);
  assert.match(v2, /^[0-9a-f]{40}$/);
  assert.notEqual(v2, v1);

  const get = async (rev: string) => {
    // The commit is on the resolve response; the body comes from the CDN it redirects to.
    const head = await fetch(resolveUrl(hub, 'w.gguf', rev, repo), { method: 'HEAD', redirect: 'manual' });
    const body = await fetch(resolveUrl(hub, 'w.gguf', rev, repo));
    return `${head.headers.get('x-repo-commit')} ${Buffer.from(await body.arrayBuffer()).toString()}`;
  };
  assert.equal(await get('main'), `${v2} v2`);
  assert.equal(await get(v1), `${v1} v1`);
  assert.equal(await get('refs/pr/1'), `${v1} v1`);
});

test('a silent fault accepts the request and never answers; the next request is served', async (t) => {
  const hub = await hubWithModel(t);
  hub.inject({ kind: 'silent' });
  const ac = new AbortController();
  const pending = fetch(resolveUrl(hub, 'model.gguf'), { method: 'HEAD', redirect: 'manual', signal: ac.signal });
  await waitFor(() => hub.stats.requests === 1, { what: 'the hub to receive the request' });
  ac.abort();
  await assert.rejects(pending, { name: 'AbortError' });
  assert.equal((await fetch(resolveUrl(hub, 'model.gguf'), { method: 'HEAD', redirect: 'manual' })).status, 302);
});

test('a silent fault with times: Infinity is a standing mode, and close() still ends its held requests', async () => {
  const hub = await startFakeHub();
  hub.addRepo({ id: MODEL, files: [{ path: 'config.json', content: config }] });
  hub.inject({ kind: 'silent', times: Infinity });
  const pending = [fetch(resolveUrl(hub, 'config.json')), fetch(`${hub.url}/api/models/${MODEL}/tree/main?recursive=true`)].map((p) => p.then(() => 'answered', () => 'failed'));
  await waitFor(() => hub.stats.requests === 2, { what: 'both requests to arrive' });
  await hub.close();
  assert.deepEqual(await Promise.all(pending), ['failed', 'failed']);
});

test('a stall-headers fault holds the headers back, then answers normally; a client that leaves ends it', async (t) => {
  const hub = await hubWithModel(t);
  hub.inject({ kind: 'stall-headers', ms: 60_000 }, { method: 'HEAD' });
  const ac = new AbortController();
  let settled = false;
  const held = fetch(resolveUrl(hub, 'config.json'), { method: 'HEAD', signal: ac.signal }).finally(() => (settled = true));
  await waitFor(() => hub.stats.heads === 1, { what: 'the HEAD to arrive' });
  assert.equal(settled, false);
  ac.abort();
  await assert.rejects(held, { name: 'AbortError' });

  hub.inject({ kind: 'stall-headers', ms: 50 }, { path: 'config.json', method: 'GET' });
  const res = await fetch(resolveUrl(hub, 'config.json'));
  assert.equal(res.status, 200);
  assert.deepEqual(Buffer.from(await res.arrayBuffer()), config);
});

test('body faults aimed at a listing stall, cut or corrupt its JSON; without `listing` they never touch one', async (t) => {
  const hub = await hubWithModel(t);
  const tree = `${hub.url}/api/models/${MODEL}/tree/main?recursive=true`;
  const whole = await (await fetch(tree)).text();

  // Not aimed at listings: the listing is served whole, and the fault waits for a file body.
  hub.inject({ kind: 'drop', afterBytes: 10 });
  assert.equal(await (await fetch(tree)).text(), whole);
  assert.deepEqual(await readUntilError(await fetch(resolveUrl(hub, 'model.gguf'))), { bytes: 10, failed: true });

  hub.inject({ kind: 'drop', afterBytes: 10 }, { listing: true });
  assert.equal((await fetch(resolveUrl(hub, 'config.json'))).status, 200, 'a file request does not take a listing fault');
  assert.deepEqual(await readUntilError(await fetch(tree)), { bytes: 10, failed: true });

  hub.inject({ kind: 'corrupt' }, { listing: true });
  const corrupt = Buffer.from(await (await fetch(tree)).arrayBuffer());
  assert.equal(corrupt.length, whole.length);
  assert.notEqual(corrupt.toString(), whole);

  hub.inject({ kind: 'stall', afterBytes: 10, ms: 60_000 }, { listing: true });
  const ac = new AbortController();
  const reader = (await fetch(tree, { signal: ac.signal })).body!.getReader();
  let received = 0;
  while (received < 10) received += (await reader.read()).value?.length ?? 0;
  assert.equal(received, 10, 'the first bytes, then nothing');
  await waitFor(() => hub.stats.bodiesOpen === 1, { what: 'the listing body to stall' });
  ac.abort();
  await waitFor(() => hub.stats.bodiesOpen === 0, { what: 'the hub to notice the client left' });
  assert.equal(await (await fetch(tree)).text(), whole, 'the fault is used up');
});
