import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isHearthError } from '../../src/errors/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { openPgliteEngine } from '../../src/memory/engine-pglite.js';
import { openPostgresEngine } from '../../src/memory/engine-postgres.js';
import type { SqlEngine } from '../../src/memory/engine.js';
import { createMemory, type Memory } from '../../src/memory/memory.js';
import { migrate } from '../../src/memory/migrations.js';
import { LlamaBackend } from '../../src/runtime/llama/llama-backend.js';
import { OnnxBackend } from '../../src/runtime/onnx/onnx-backend.js';
import { createSpaces, type Spaces } from '../../src/spaces/index.js';
import { poolBed } from '../support/pool-bed.js';
import { startPostgres } from '../support/postgres.js';

const LONG = Array.from({ length: 40 }, (_, i) => `Line ${i} of the logbook records wind, tide and the gulls at the harbour mouth.`).join(' ');
const DOCS = [
  { id: 'cat', text: 'The cat sat on the mat.', metadata: { kind: 'pet' } },
  { id: 'rates', text: 'Stock markets fell after the central bank raised interest rates.', metadata: { kind: 'money' } },
  { id: 'log', text: LONG, metadata: { kind: 'place' } },
  ...Array.from({ length: 40 }, (_, i) => ({ id: `n${String(i).padStart(2, '0')}`, text: `Short note ${i} about ${['boats', 'bread', 'taxes', 'cats'][i % 4]}.`, metadata: { n: i } })),
];

/** Each document's id and content hash, and its chunks' numbers, as stored: what must agree between collections. */
async function contents(engine: SqlEngine, collectionId: number): Promise<Array<[string, string, unknown]>> {
  const rows = await engine.query<{ doc_id: string; content_hash: string; metadata: unknown }>(`SELECT doc_id, content_hash, metadata FROM hearth_documents WHERE collection_id = $1 ORDER BY doc_id`, [collectionId]);
  return rows.map((r) => [r.doc_id, r.content_hash, r.metadata]);
}

/** The same suite on both engines: PGlite serializes transactions, Postgres runs the dual writes and the swap truly concurrently. */
reembedSuite('PGlite', (root) => openPgliteEngine({ dataDir: join(root, 'memory'), durable: false, logger: silentLogger }));
let stopPostgres: (() => Promise<void>) | undefined;
after(() => stopPostgres?.());
reembedSuite('Postgres', async () => {
  const server = await startPostgres();
  if ('unavailable' in server) return server;
  stopPostgres = server.stop;
  return openPostgresEngine({ url: server.url });
});

function reembedSuite(name: string, open: (root: string) => Promise<SqlEngine | { unavailable: string }>): void {
describe(`re-embedding a collection into another space with no downtime: ${name}`, () => {
  const bed = poolBed();
  let engine: SqlEngine;
  let spaces: Spaces;
  let memory: Memory;
  let skip: string | false = false;

  before(async () => {
    const opened = await open(bed.box.root);
    if ('unavailable' in opened) {
      skip = opened.unavailable;
      return;
    }
    engine = opened;
    await migrate(engine);
  });
  after(() => engine?.close());

  const setUp = () => {
    const pool = bed.pool({}, { backends: [new OnnxBackend({ logger: silentLogger, batch: { maxTokens: 512, maxRows: 32 } }), new LlamaBackend({ device: 'cpu', logger: silentLogger })] });
    spaces = createSpaces({ home: bed.box.home, logger: silentLogger, acquire: (ref, options) => pool.acquire(ref, options) });
    memory = createMemory({ engine, spaces, logger: silentLogger });
  };

  test('backfills from the stored chunks, evaluates, swaps atomically; the old collection is kept until gc', async (t) => {
    if (skip) return t.skip(skip);
    setUp();
    const old = await memory.create('kb', { model: bed.fixtures.onnxBert });
    await memory.add('kb', DOCS);
    const progress: number[] = [];
    const report = await memory.migrate('kb', { model: bed.fixtures.bert }, { onProgress: (p) => progress.push(p.done) });
    assert.equal(report.swapped, true);
    assert.equal(report.from, 'kb');
    assert.equal(report.to, 'kb-2', 'a new space named after the collection');
    assert.equal(report.documents, DOCS.length);
    assert.equal(report.backfilled, DOCS.length);
    assert.equal(report.resumed, false);
    assert.ok(progress.length >= 2 && progress.at(-1) === DOCS.length, JSON.stringify(progress));
    assert.equal(report.evaluation.samples, 20);
    assert.ok(report.evaluation.meanOverlap !== null && report.evaluation.meanOverlap > 0 && report.evaluation.meanOverlap <= 1);

    const now = await memory.get('kb');
    assert.notEqual(now.id, old.id);
    assert.equal(now.space, 'kb-2');
    assert.equal(now.dimensions, (await spaces.get('kb-2')).model.dimensions);
    assert.deepEqual(await contents(engine, now.id), await contents(engine, old.id), 'the same documents, content and metadata');
    const [hit] = await memory.query('kb', { text: 'The cat sat on the mat.', topK: 1 });
    assert.equal(hit?.docId, 'cat', 'text queries now embed in the new space');
    assert.equal((await memory.stats('kb')).reembedding, null);
    assert.deepEqual((await memory.list()).map((c) => c.name).filter((n) => n === 'kb'), ['kb'], 'one live collection of the name');

    assert.deepEqual(await memory.gc(), [{ name: 'kb', space: 'kb', id: old.id }]);
    await assert.rejects(engine.query(`SELECT 1 FROM hearth_chunks_${old.id}`), /does not exist/);
    assert.deepEqual(await memory.gc(), [], 'nothing left to collect');
  });

  test('writes during the backfill go to both collections; queries are answered by the old space until the swap; a second run resumes', async (t) => {
    if (skip) return t.skip(skip);
    setUp();
    const old = await memory.create('live', { model: bed.fixtures.onnxBert });
    await memory.add('live', DOCS);
    // Stops after backfill and evaluation: the re-embed stays running, as one killed before its swap would.
    const first = await memory.migrate('live', { model: bed.fixtures.bert }, { swap: false });
    assert.equal(first.swapped, false);
    const running = await memory.stats('live');
    assert.deepEqual(running.reembedding, { to: 'live-2', documents: DOCS.length, done: DOCS.length });
    assert.equal(running.space, 'live', 'the old space still answers');
    assert.equal((await memory.query('live', { text: 'The cat sat on the mat.', topK: 1 }))[0]?.docId, 'cat');

    // Written now: to both, in one transaction each.
    assert.deepEqual(await memory.add('live', [{ id: 'new', text: 'A heron stood in the shallows.', metadata: { kind: 'bird' } }]), { added: 1, unchanged: 0, chunks: 1 });
    await memory.add('live', [{ ...DOCS[0]!, metadata: { kind: 'feline' } }]);
    assert.equal(await memory.remove('live', ['rates']), 1);
    const target = (await engine.query<{ target_id: number }>(`SELECT target_id FROM hearth_reembeds WHERE source_id = $1`, [old.id]))[0]!.target_id;
    assert.deepEqual(await contents(engine, target), await contents(engine, old.id), 'the target followed every write');

    await assert.rejects(memory.migrate('live', { space: 'kb' }), (e) => isHearthError(e, 'REEMBED_RUNNING') && /live-2/.test(e.message));
    const second = await memory.migrate('live', undefined);
    assert.equal(second.resumed, true);
    assert.equal(second.backfilled, 0, 'nothing left to embed');
    assert.equal(second.swapped, true);
    const [heron] = await memory.query('live', { text: 'A heron stood in the shallows.', topK: 1 });
    assert.equal(heron?.docId, 'new');
    assert.deepEqual(heron.metadata, { kind: 'bird' });
  });

  test('writes racing a migration to its swap all land in the collection that ends up live', async (t) => {
    if (skip) return t.skip(skip);
    setUp();
    await memory.create('race', { model: bed.fixtures.onnxBert });
    await memory.add('race', DOCS.slice(0, 10));
    const writer = (async () => {
      for (let round = 0; round < 6; round++) {
        await memory.add('race', Array.from({ length: 4 }, (_, i) => ({ id: `w${round}-${i}`, text: `Written in round ${round}, item ${i}, while the migration ran.` })));
        await memory.remove('race', [`w${round}-0`]);
      }
    })();
    const report = await memory.migrate('race', { model: bed.fixtures.bert });
    await writer;
    assert.equal(report.swapped, true);
    const live = await memory.get('race');
    const ids = (await contents(engine, live.id)).map(([id]) => id);
    const expected = [...DOCS.slice(0, 10).map((d) => d.id), ...Array.from({ length: 6 }, (_, r) => [1, 2, 3].map((i) => `w${r}-${i}`)).flat()].sort();
    assert.deepEqual(ids, expected, 'every write, before, during and after the swap, is in the live collection');
    const counts = await memory.store.counts(live);
    assert.equal(counts.documents, expected.length);
    const orphans = await engine.query(`SELECT d.doc_id FROM hearth_documents d WHERE d.collection_id = $1 AND NOT EXISTS (SELECT 1 FROM hearth_chunks_${live.id} c WHERE c.doc_id = d.doc_id)`, [live.id]);
    assert.deepEqual(orphans, [], 'every document has its chunks');
  });

  test('a re-embed can be abandoned; dropping a collection drops its running re-embed; bad requests are typed', async (t) => {
    if (skip) return t.skip(skip);
    setUp();
    const c = await memory.create('tmp', { model: bed.fixtures.onnxBert });
    await memory.add('tmp', DOCS.slice(0, 3));
    await assert.rejects(memory.migrate('tmp', undefined), (e) => isHearthError(e, 'REEMBED_NOT_FOUND'));
    await assert.rejects(memory.migrate('tmp', { space: 'tmp' }), (e) => isHearthError(e, 'USAGE') && /already in space/.test(e.message));
    await assert.rejects(memory.migrate('nowhere', { space: 'tmp' }), (e) => isHearthError(e, 'COLLECTION_NOT_FOUND'));
    await assert.rejects(memory.abortMigration('tmp'), (e) => isHearthError(e, 'REEMBED_NOT_FOUND'));
    await memory.migrate('tmp', { model: bed.fixtures.bert }, { swap: false });
    await memory.abortMigration('tmp');
    assert.equal((await memory.stats('tmp')).reembedding, null);
    assert.equal((await memory.get('tmp')).id, c.id, 'the collection never stopped being itself');
    await memory.migrate('tmp', { space: 'tmp-2' }, { swap: false });
    await memory.drop('tmp');
    assert.deepEqual(await engine.query(`SELECT id FROM hearth_collections WHERE name = 'tmp'`), []);
  });
});
}
