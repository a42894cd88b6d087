import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { isHearthError } from '../../src/errors/index.js';
import { CollectionStore, writeDocuments, type Collection } from '../../src/memory/collection-store.js';
import { DeadLetters } from '../../src/memory/dead-letters.js';
import type { SqlEngine } from '../../src/memory/engine.js';
import { buildHnsw, measureRecall, withIndexLock } from '../../src/memory/hnsw-index.js';
import { migrate, SCHEMA_VERSION, schemaVersion } from '../../src/memory/migrations.js';
import { encodeCopyRows, encodeVector } from '../../src/memory/pg-binary.js';
import { waitFor } from './wait.js';

/** A unit vector along axis `i` of `d` dimensions, nudged toward axis `j` by `t`. */
export function axis(d: number, i: number, j = i, t = 0): number[] {
  const v: number[] = Array.from({ length: d }, (_, k) => (k === i ? 1 : 0));
  v[j] = (v[j] ?? 0) + t;
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

/**
 * What every memory engine must do, identically: the schema migrations, and
 * collections, documents and chunks through the one SQL both engines run.
 * `open` gives a fresh, empty database each time it is called.
 */
export function sqlEngineConformance(name: string, open: () => Promise<SqlEngine | { unavailable: string }>): void {
  describe(`memory engine conformance: ${name}`, () => {
    let engine: SqlEngine | undefined;
    let skip: string | false = false;
    let store: CollectionStore;
    let n = 0;
    const fresh = async (dimensions = 4): Promise<Collection> => store.create(`c${++n}`, 'space-a', dimensions);

    before(async () => {
      const opened = await open();
      if ('unavailable' in opened) {
        skip = opened.unavailable;
        return;
      }
      engine = opened;
      store = new CollectionStore(engine);
    });
    after(() => engine?.close());

    test('migrations apply once, in order, and report the schema version', async (t) => {
      if (skip) return t.skip(skip);
      assert.deepEqual(await migrate(engine!), Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
      assert.deepEqual(await migrate(engine!), [], 'a second run applies nothing');
      assert.equal(await schemaVersion(engine!), SCHEMA_VERSION);
    });

    test('dead letters: one per source, attempts counted, cleared by source, dropped with their collection', async (t) => {
      if (skip) return t.skip(skip);
      const c = await fresh();
      const letters = new DeadLetters(engine!);
      await letters.record(c, [{ source: '/a.pdf', code: 'SOURCE_UNREADABLE', reason: 'broken' }, { source: "/it's.json", code: 'SOURCE_UNREADABLE', reason: 'bad "JSON"' }]);
      await letters.record(c, [{ source: '/a.pdf', code: 'SOURCE_UNREADABLE', reason: 'still broken' }]);
      assert.deepEqual((await letters.list(c)).map((l) => [l.source, l.reason, l.attempts]), [['/a.pdf', 'still broken', 2], ["/it's.json", 'bad "JSON"', 1]]);
      await letters.clear(c, ['/a.pdf', '/never.txt']);
      assert.deepEqual((await letters.list(c)).map((l) => l.source), ["/it's.json"]);
      await store.drop(c);
      assert.deepEqual(await engine!.query('SELECT * FROM hearth_dead_letters WHERE collection_id = $1', [c.id]), []);
    });

    test('collections: create, get, list; a taken name is COLLECTION_EXISTS, an unknown one COLLECTION_NOT_FOUND', async (t) => {
      if (skip) return t.skip(skip);
      const c = await store.create('notes', 'space-a', 4);
      assert.equal(c.name, 'notes');
      assert.equal(c.dimensions, 4);
      assert.equal(c.indexState, 'exact');
      assert.deepEqual(await store.get('notes'), c);
      await assert.rejects(store.create('notes', 'space-b', 8), (e) => isHearthError(e, 'COLLECTION_EXISTS'));
      await assert.rejects(store.get('nowhere'), (e) => isHearthError(e, 'COLLECTION_NOT_FOUND'));
      assert.ok((await store.list()).some((x) => x.name === 'notes'));
    });

    test('writes and searches: nearest first, with cosine similarity, top_k, a minimum similarity and a metadata filter', async (t) => {
      if (skip) return t.skip(skip);
      const c = await fresh();
      await store.write(c, [
        { docId: 'a', contentHash: 'h1', metadata: { kind: 'fact', who: 'anna' }, chunks: [{ text: 'along x', tokens: 2, vector: axis(4, 0) }] },
        { docId: 'b', contentHash: 'h2', metadata: { kind: 'fact', who: 'ben' }, chunks: [{ text: 'near x', tokens: 2, vector: axis(4, 0, 1, 0.5) }, { text: 'along z', tokens: 2, vector: axis(4, 2) }] },
        { docId: 'c', contentHash: 'h3', metadata: { kind: 'note' }, chunks: [{ text: 'along y', tokens: 2, vector: axis(4, 1) }] },
      ]);
      assert.deepEqual(await store.counts(c), { documents: 3, chunks: 4, invalidVectors: 0 });
      const hits = await store.search(c, axis(4, 0), { topK: 3 });
      // 'b' chunk 1 and 'c' are both orthogonal to the query: a tie, broken by doc_id and chunk.
      assert.deepEqual(hits.map((h) => [h.docId, h.chunk]), [['a', 0], ['b', 0], ['b', 1]]);
      assert.ok(Math.abs(hits[0]!.similarity - 1) < 1e-6);
      assert.ok(Math.abs(hits[1]!.similarity - 1 / Math.hypot(1, 0.5)) < 1e-6);
      assert.deepEqual(hits[0]!.metadata, { kind: 'fact', who: 'anna' });
      assert.deepEqual((await store.search(c, axis(4, 0), { topK: 10, minSimilarity: 0.5 })).map((h) => h.docId), ['a', 'b']);
      assert.deepEqual((await store.search(c, axis(4, 0), { topK: 10, filter: { kind: 'note' } })).map((h) => h.docId), ['c']);
      assert.deepEqual((await store.search(c, axis(4, 0), { topK: 1 })).length, 1);
    });

    test('the binary path: COPY keeps any text byte for byte, vectors travel as float4 both ways, and a failed COPY rolls its transaction back', async (t) => {
      if (skip) return t.skip(skip);
      const c = await fresh();
      const odd = "tab\there, new\nline, back\\slash, 'quote', \"dq\", emoji 🧭, NUL-free é ñ 中文";
      const v = [0.1, -2.5e-7, 3.4028234e38, 1];
      await store.write(c, [{ docId: odd, contentHash: 'h', metadata: { odd }, chunks: [{ text: odd, tokens: 7, vector: v }] }]);
      const [row] = await engine!.query<{ doc_id: string; text: string; tokens: number; e: string }>(`SELECT doc_id, text, tokens, embedding::text AS e FROM hearth_chunks_${c.id}`);
      assert.equal(row?.doc_id, odd);
      assert.equal(row.text, odd);
      assert.equal(row.tokens, 7);
      assert.deepEqual((JSON.parse(row.e) as number[]).map(Math.fround), v.map(Math.fround));
      // A binary parameter is read as the very same float4s.
      const [same] = await engine!.query<{ n: string | number }>(`SELECT count(*) AS n FROM hearth_chunks_${c.id} WHERE embedding = $1::vector`, [encodeVector(v)]);
      assert.equal(Number(same?.n), 1);
      await assert.rejects(
        engine!.transaction(async (tx) => {
          await tx.query(`INSERT INTO hearth_documents (collection_id, doc_id, content_hash) VALUES ($1, 'tx', 'h')`, [c.id]);
          // A zero vector fails the table's norm check inside the COPY.
          await tx.copyBinary(`hearth_chunks_${c.id}`, ['doc_id', 'chunk', 'text', 'tokens', 'embedding'], encodeCopyRows([[{ text: 'tx' }, { int4: 0 }, { text: 'z' }, { int4: 1 }, { vector: [0, 0, 0, 0] }]]));
        }),
        /check constraint/,
      );
      assert.deepEqual(await store.counts(c), { documents: 1, chunks: 1, invalidVectors: 0 });
    });

    test('the similarity distribution of a query over the collection', async (t) => {
      if (skip) return t.skip(skip);
      const c = await fresh();
      const empty = await store.distribution(c, axis(4, 0));
      assert.deepEqual(empty, { chunks: 0, min: null, max: null, mean: null, atLeast: { '0.3': 0, '0.5': 0, '0.7': 0, '0.9': 0 } });
      await store.write(c, [
        { docId: 'a', contentHash: 'h', metadata: {}, chunks: [{ text: 'x', tokens: 1, vector: axis(4, 0) }, { text: 'y', tokens: 1, vector: axis(4, 1) }, { text: 'near', tokens: 1, vector: axis(4, 0, 1, 1) }] },
      ]);
      const d = await store.distribution(c, axis(4, 0));
      assert.equal(d.chunks, 3);
      assert.ok(Math.abs(d.max! - 1) < 1e-6 && Math.abs(d.min!) < 1e-6);
      assert.ok(Math.abs(d.mean! - (1 + 0 + Math.SQRT1_2) / 3) < 1e-6);
      assert.deepEqual(d.atLeast, { '0.3': 2, '0.5': 2, '0.7': 2, '0.9': 1 });
    });

    test('metadata keys and filter values with quotes, backslashes and SQL are stored and matched literally', async (t) => {
      if (skip) return t.skip(skip);
      const c = await fresh();
      const nasty = { "it's": 'a "quote"', 'back\\slash': "'; DROP TABLE hearth_documents; --", '$1': '%_*', nested: { ')::jsonb OR true --': [1, "'"] } };
      await store.write(c, [{ docId: "doc'; --", contentHash: 'h', metadata: nasty, chunks: [{ text: "it's text", tokens: 3, vector: axis(4, 0) }] }]);
      const [hit] = await store.search(c, axis(4, 0), { topK: 1, filter: { 'back\\slash': "'; DROP TABLE hearth_documents; --" } });
      assert.equal(hit?.docId, "doc'; --");
      assert.deepEqual(hit.metadata, nasty);
      assert.deepEqual(await store.search(c, axis(4, 0), { topK: 1, filter: { "it's": 'a quote' } }), []);
      assert.equal((await store.search(c, axis(4, 0), { topK: 1, filter: { nested: { ')::jsonb OR true --': [1, "'"] } } })).length, 1);
    });

    test("rewriting a document replaces its chunks; deleting it removes them; content hashes are kept per document", async (t) => {
      if (skip) return t.skip(skip);
      const c = await fresh();
      const doc = (hash: string, chunks: number) => ({ docId: 'd', contentHash: hash, metadata: {}, chunks: Array.from({ length: chunks }, (_, i) => ({ text: `t${i}`, tokens: 1, vector: axis(4, i % 4) })) });
      await store.write(c, [doc('v1', 3)]);
      await store.write(c, [doc('v2', 1)]);
      assert.deepEqual(await store.counts(c), { documents: 1, chunks: 1, invalidVectors: 0 });
      assert.deepEqual([...(await store.contentHashes(c, ['d', 'missing']))], [['d', 'v2']]);
      assert.equal(await store.deleteDocuments(c, ['d', 'missing']), 1);
      assert.deepEqual(await store.counts(c), { documents: 0, chunks: 0, invalidVectors: 0 });
    });

    test('one write with new and stored documents: the new ones are copied, the stored ones updated and their old chunks replaced', async (t) => {
      if (skip) return t.skip(skip);
      const c = await fresh();
      const doc = (id: string, hash: string, metadata: Record<string, unknown>, chunks: number) => ({
        docId: id,
        contentHash: hash,
        metadata,
        chunks: Array.from({ length: chunks }, (_, i) => ({ text: `${id}${i}`, tokens: 1, vector: axis(4, i % 4) })),
      });
      await store.write(c, [doc('kept', 'k1', { v: 1 }, 3)]);
      const odd = { "it's": 'tab\t, é, 中文, 🧭', nested: { n: [1, null, true] } };
      await store.write(c, [doc('kept', 'k2', { v: 2 }, 1), doc('new', 'n1', odd, 2)]);
      assert.deepEqual(await store.counts(c), { documents: 2, chunks: 3, invalidVectors: 0 });
      assert.deepEqual([...(await store.contentHashes(c, ['kept', 'new']))].sort(), [['kept', 'k2'], ['new', 'n1']]);
      const rows = await engine!.query<{ doc_id: string; metadata: unknown; texts: string[] }>(
        `SELECT d.doc_id, d.metadata, array_agg(c.text ORDER BY c.chunk) AS texts FROM hearth_documents d JOIN hearth_chunks_${c.id} c ON c.doc_id = d.doc_id
         WHERE d.collection_id = $1 GROUP BY d.doc_id, d.metadata ORDER BY d.doc_id`,
        [c.id],
      );
      assert.deepEqual(rows, [
        { doc_id: 'kept', metadata: { v: 2 }, texts: ['kept0'] },
        { doc_id: 'new', metadata: odd, texts: ['new0', 'new1'] },
      ]);
    });

    test('two writers of one new document at once: the later one updates what the first inserted (Postgres; PGlite runs one transaction at a time)', async (t) => {
      if (skip) return t.skip(skip);
      if (engine!.kind !== 'postgres') return t.skip('PGlite has one connection: its transactions never overlap');
      const c = await fresh();
      const doc = (hash: string, texts: string[]) => ({ docId: 'x', contentHash: hash, metadata: { hash }, chunks: texts.map((text, i) => ({ text, tokens: 1, vector: axis(4, i) })) });
      let releaseFirst!: () => void;
      const held = new Promise<void>((resolve) => (releaseFirst = resolve));
      let firstWrote!: () => void;
      const wrote = new Promise<void>((resolve) => (firstWrote = resolve));
      const first = engine!.transaction(async (tx) => {
        await writeDocuments(tx, c, [doc('first', ['a', 'b', 'c'])]);
        firstWrote();
        await held;
      });
      await wrote;
      // The second write's lookup cannot see the uncommitted row, so its COPY waits on the unique index.
      const second = store.write(c, [doc('second', ['z'])]);
      await waitFor(
        async () => (await engine!.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'COPY hearth_documents%'`)).length > 0,
        { what: "the second writer's COPY waiting for the first's row" },
      );
      releaseFirst();
      await first;
      await second;
      assert.deepEqual([...(await store.contentHashes(c, ['x']))], [['x', 'second']]);
      assert.deepEqual((await engine!.query<{ text: string }>(`SELECT text FROM hearth_chunks_${c.id} ORDER BY chunk`)).map((r) => r.text), ['z']);
    });

    test('migration 3 drops the foreign key (and its column) from chunk tables made before it', async (t) => {
      if (skip) return t.skip(skip);
      const c = await fresh();
      const table = `hearth_chunks_${c.id}`;
      // The chunk table as schema 2 made it.
      await engine!.exec(`DROP TABLE ${table}; CREATE TABLE ${table} (
        collection_id integer NOT NULL DEFAULT ${c.id} CHECK (collection_id = ${c.id}), doc_id text NOT NULL, chunk integer NOT NULL, text text NOT NULL,
        tokens integer NOT NULL, embedding vector(4) NOT NULL CHECK (vector_norm(embedding) > 0), PRIMARY KEY (doc_id, chunk),
        FOREIGN KEY (collection_id, doc_id) REFERENCES hearth_documents (collection_id, doc_id) ON DELETE CASCADE)`);
      await store.write(c, [{ docId: 'a', contentHash: 'h', metadata: {}, chunks: [{ text: 'x', tokens: 1, vector: axis(4, 0) }] }]);
      await engine!.query(`DELETE FROM hearth_migrations WHERE version = 3`);
      assert.deepEqual(await migrate(engine!), [3]);
      const columns = await engine!.query<{ column_name: string }>(`SELECT column_name FROM information_schema.columns WHERE table_name = $1 ORDER BY ordinal_position`, [table]);
      assert.deepEqual(columns.map((r) => r.column_name), ['doc_id', 'chunk', 'text', 'tokens', 'embedding']);
      assert.deepEqual(await engine!.query(`SELECT conname FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'f'`, [table]), []);
      assert.deepEqual(await store.counts(c), { documents: 1, chunks: 1, invalidVectors: 0 });
      assert.equal(await store.deleteDocuments(c, ['a']), 1);
      assert.deepEqual(await store.counts(c), { documents: 0, chunks: 0, invalidVectors: 0 });
    });

    test('a write is one transaction: a failure in its last document leaves none of it', async (t) => {
      if (skip) return t.skip(skip);
      const c = await fresh();
      const ok = { docId: 'ok', contentHash: 'h', metadata: {}, chunks: [{ text: 'x', tokens: 1, vector: axis(4, 0) }] };
      // A doc_id past the documents table's length check fails inside the transaction, after 'ok' was written.
      const bad = { docId: 'x'.repeat(2000), contentHash: 'h', metadata: {}, chunks: [{ text: 'y', tokens: 1, vector: axis(4, 1) }] };
      await assert.rejects(store.write(c, [ok, bad]));
      assert.deepEqual(await store.counts(c), { documents: 0, chunks: 0, invalidVectors: 0 });
    });

    test('bad vectors are refused with VECTOR_INVALID, and the table itself refuses zero and NaN vectors from hand-written SQL', async (t) => {
      if (skip) return t.skip(skip);
      const c = await fresh();
      const write = (vector: number[]) => store.write(c, [{ docId: 'v', contentHash: 'h', metadata: {}, chunks: [{ text: 'x', tokens: 1, vector }] }]);
      for (const [what, vector] of [
        ['wrong dimensions', [1, 0, 0]],
        ['NaN', [Number.NaN, 0, 0, 1]],
        ['Infinity', [Number.POSITIVE_INFINITY, 0, 0, 1]],
        ['zero', [0, 0, 0, 0]],
        ['beyond float4', [1e39, 0, 0, 1]],
        ['zero as float4', [1e-50, 0, 0, 0]],
      ] as const) {
        await assert.rejects(write([...vector]), (e) => isHearthError(e, 'VECTOR_INVALID'), what);
        await assert.rejects(store.search(c, [...vector], { topK: 1 }), (e) => isHearthError(e, 'VECTOR_INVALID'), `search: ${what}`);
      }
      await engine!.query(`INSERT INTO hearth_documents (collection_id, doc_id, content_hash) VALUES ($1, 'raw', 'h')`, [c.id]);
      const table = `hearth_chunks_${c.id}`;
      await assert.rejects(engine!.query(`INSERT INTO ${table} (doc_id, chunk, text, tokens, embedding) VALUES ('raw', 0, 'x', 1, '[0,0,0,0]')`), /check constraint/);
      await assert.rejects(engine!.query(`INSERT INTO ${table} (doc_id, chunk, text, tokens, embedding) VALUES ('raw', 0, 'x', 1, '[NaN,0,0,1]')`), /NaN/);
      await assert.rejects(engine!.query(`INSERT INTO ${table} (doc_id, chunk, text, tokens, embedding) VALUES ('raw', 0, 'x', 1, NULL)`), /null/i);
      assert.deepEqual(await store.counts(c), { documents: 1, chunks: 0, invalidVectors: 0 });
    });

    test('an HNSW index: built (concurrently on Postgres), used with a per-query ef_search, and its recall measured against exact search', async (t) => {
      if (skip) return t.skip(skip);
      const c = await fresh(8);
      // Deterministic, well spread vectors: axis pairs at many angles.
      const docs = Array.from({ length: 300 }, (_, i) => ({ docId: `d${i}`, contentHash: 'h', metadata: {}, chunks: [{ text: `t${i}`, tokens: 1, vector: axis(8, i % 8, (i * 3 + 1) % 8, (i % 37) / 10) }] }));
      await store.write(c, docs);
      const built = await withIndexLock(engine!, c, (session) => buildHnsw(session, engine!.kind, c, { m: 8, efConstruction: 32, buildMemoryMiB: 64 }).then(() => 'built'));
      assert.equal(built, 'built');
      const indexes = await engine!.query<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE tablename = $1`, [`hearth_chunks_${c.id}`]);
      assert.ok(indexes.some((i) => i.indexname === `hearth_chunks_${c.id}_hnsw`), JSON.stringify(indexes));
      const exact = await store.search(c, axis(8, 3), { topK: 5 });
      const indexed = await store.search(c, axis(8, 3), { topK: 5, efSearch: 200 });
      assert.deepEqual(indexed.map((h) => h.docId), exact.map((h) => h.docId));
      const recall = await measureRecall(engine!, c, { samples: 10, k: 10, efSearch: 200 });
      assert.ok(recall !== null && recall >= 0.9, String(recall));
      const recorded = await store.setIndexState(c, 'hnsw', { params: { m: 8 }, recall });
      assert.equal(recorded.indexState, 'hnsw');
      assert.equal(recorded.recall !== null && Math.abs(recorded.recall - recall) < 1e-6, true);
      await assert.rejects(store.search(c, axis(8, 3), { topK: 5, efSearch: 0 }), (e) => isHearthError(e, 'USAGE'));
    });

    test('dropping a collection removes its chunk table and documents', async (t) => {
      if (skip) return t.skip(skip);
      const c = await fresh();
      await store.write(c, [{ docId: 'a', contentHash: 'h', metadata: {}, chunks: [{ text: 'x', tokens: 1, vector: axis(4, 0) }] }]);
      await store.drop(c);
      await assert.rejects(store.get(c.name), (e) => isHearthError(e, 'COLLECTION_NOT_FOUND'));
      await assert.rejects(engine!.query(`SELECT 1 FROM hearth_chunks_${c.id}`), /does not exist/);
      assert.deepEqual(await engine!.query(`SELECT 1 FROM hearth_documents WHERE collection_id = $1`, [c.id]), []);
    });
  });
}
