import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isHearthError } from '../../src/errors/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { openPgliteEngine } from '../../src/memory/engine-pglite.js';
import { createMemory, DEFAULT_INDEX_POLICY, type Memory } from '../../src/memory/memory.js';
import { migrate } from '../../src/memory/migrations.js';
import type { SqlEngine } from '../../src/memory/engine.js';
import { LlamaBackend } from '../../src/runtime/llama/llama-backend.js';
import { OnnxBackend } from '../../src/runtime/onnx/onnx-backend.js';
import type { LoadedModel } from '../../src/runtime/types.js';
import { createSpaces, type Spaces } from '../../src/spaces/index.js';
import { poolBed } from '../support/pool-bed.js';
import { WrappedBackend } from '../support/wrapped-backend.js';

/** The real ONNX backend, counting the texts its models embed. */
class EmbedCounting extends WrappedBackend {
  texts = 0;
  protected wrap(loaded: LoadedModel): LoadedModel {
    const embed = loaded.embed.bind(loaded);
    loaded.embed = (inputs, options) => {
      this.texts += inputs.length;
      return embed(inputs, options);
    };
    return loaded;
  }
}

const LONG = Array.from({ length: 60 }, (_, i) => `Sentence number ${i} talks about the harbour, the boats and the gulls.`).join(' ');

describe('vector memory on the embedded engine', () => {
  const bed = poolBed();
  let engine: SqlEngine;
  let spaces: Spaces;
  let memory: Memory;
  const counting = new EmbedCounting(new OnnxBackend({ logger: silentLogger, batch: { maxTokens: 512, maxRows: 32 } }));

  before(async () => {
    engine = await openPgliteEngine({ dataDir: join(bed.box.root, 'memory'), durable: false, logger: silentLogger });
    await migrate(engine);
  });
  after(() => engine?.close());

  const setUp = () => {
    const pool = bed.pool({}, { backends: [counting, new LlamaBackend({ device: 'cpu', logger: silentLogger })] });
    spaces = createSpaces({ home: bed.box.home, logger: silentLogger, acquire: (ref, options) => pool.acquire(ref, options) });
    memory = createMemory({ engine, spaces, logger: silentLogger });
  };

  test('create from a model, add, query by text with a threshold and a filter; unchanged documents embed nothing', async () => {
    setUp();
    const collection = await memory.create('notes', { model: bed.fixtures.onnxBert });
    assert.equal(collection.space, 'notes', 'a space of the same name was made from the model');
    assert.equal(collection.dimensions, (await spaces.get('notes')).model.dimensions);

    const docs = [
      { id: 'cat', text: 'The cat sat on the mat.', metadata: { kind: 'pet' } },
      { id: 'rates', text: 'Stock markets fell after the central bank raised interest rates.', metadata: { kind: 'money' } },
      { id: 'harbour', text: LONG, metadata: { kind: 'place' } },
    ];
    const before = counting.texts;
    const added = await memory.add('notes', docs);
    assert.equal(added.added, 3);
    assert.ok(added.chunks > 3, `the long document was chunked (${added.chunks} chunks)`);
    assert.equal(counting.texts - before, added.chunks, 'one embedding per chunk');

    const [best] = await memory.query('notes', { text: 'The cat sat on the mat.', topK: 3 });
    assert.equal(best?.docId, 'cat');
    assert.ok(best.similarity > 0.99, String(best.similarity));
    assert.deepEqual(best.metadata, { kind: 'pet' });
    assert.deepEqual((await memory.query('notes', { text: 'The cat sat on the mat.', minSimilarity: 0.99 })).map((h) => h.docId), ['cat']);
    assert.ok((await memory.query('notes', { text: 'boats', topK: 50, filter: { kind: 'place' } })).every((h) => h.docId === 'harbour'));

    const again = counting.texts;
    const unchanged = await memory.add('notes', [...docs.slice(0, 2), { ...docs[2]!, metadata: { kind: 'harbour' } }]);
    assert.deepEqual(unchanged, { added: 0, unchanged: 3, chunks: 0 });
    assert.equal(counting.texts, again, 'nothing was embedded');
    assert.equal((await memory.query('notes', { text: 'boats', topK: 1, filter: { kind: 'harbour' } }))[0]?.docId, 'harbour', 'metadata was updated');

    const edited = await memory.add('notes', [{ id: 'cat', text: 'A dog sleeps by the fire.', metadata: { kind: 'pet' } }]);
    assert.deepEqual(edited, { added: 1, unchanged: 0, chunks: 1 });
    assert.equal((await memory.query('notes', { text: 'A dog sleeps by the fire.', topK: 1 }))[0]?.text, 'A dog sleeps by the fire.');

    const stats = await memory.stats('notes');
    assert.equal(stats.documents, 3);
    assert.equal(stats.invalidVectors, 0);
    assert.equal(stats.verdict, 'identical');
    assert.equal(stats.engine, 'pglite');
    assert.equal(stats.indexState, 'exact');

    const distribution = await memory.diagnose('notes', { text: 'boats and gulls' });
    assert.equal(distribution.chunks, stats.chunks);
    assert.ok(distribution.max! <= 1 && distribution.min! >= -1);

    assert.equal(await memory.remove('notes', ['rates', 'nope']), 1);
    assert.equal((await memory.stats('notes')).documents, 2);
  });

  test('a collection whose space fails its check refuses writes and text queries with SPACE_MISMATCH; vector queries need no model', async () => {
    setUp();
    await memory.create('moved', { model: bed.fixtures.onnxBert });
    await memory.add('moved', [{ id: 'a', text: 'hello world' }]);
    // The space now says its model is the GGUF bert: another model, as a changed deployment would be.
    const file = join(bed.box.home, 'spaces', 'moved.json');
    const record = JSON.parse(await readFile(file, 'utf8')) as { model: { ref: string } };
    record.model.ref = bed.fixtures.bert;
    await writeFile(file, JSON.stringify(record));
    setUp(); // a fresh process's view: no cached verdict
    await assert.rejects(memory.add('moved', [{ id: 'b', text: 'more' }]), (e) => isHearthError(e, 'SPACE_MISMATCH'));
    await assert.rejects(memory.query('moved', { text: 'hello' }), (e) => isHearthError(e, 'SPACE_MISMATCH'));
    assert.equal((await memory.store.counts(await memory.get('moved'))).documents, 1, 'nothing was written');
    const hits = await memory.query('moved', { vector: unit(await memory.get('moved')) });
    assert.equal(hits.length, 1);
  });

  test('a collection that reaches the threshold gets its HNSW index, with measured recall; queries go on using it', async () => {
    const pool = bed.pool({}, { backends: [counting] });
    spaces = createSpaces({ home: bed.box.home, logger: silentLogger, acquire: (ref, options) => pool.acquire(ref, options) });
    memory = createMemory({ engine, spaces, logger: silentLogger, index: { ...DEFAULT_INDEX_POLICY, threshold: 12, m: 8, efConstruction: 32 } });
    await memory.create('indexed', { model: bed.fixtures.onnxBert });
    await memory.add('indexed', Array.from({ length: 8 }, (_, i) => ({ id: `a${i}`, text: `Note ${i}: the tide turned at ${i} in the morning.` })));
    assert.equal((await memory.get('indexed')).indexState, 'exact', 'below the threshold, search is exact');
    await memory.add('indexed', Array.from({ length: 8 }, (_, i) => ({ id: `b${i}`, text: `Another note ${i} about gulls over the harbour.` })));
    const collection = await memory.get('indexed');
    assert.equal(collection.indexState, 'hnsw');
    assert.ok(collection.recall !== null && collection.recall > 0.5, String(collection.recall));
    assert.deepEqual(collection.indexParams, { m: 8, efConstruction: 32, buildMemoryMiB: DEFAULT_INDEX_POLICY.buildMemoryMiB });
    const [hit] = await memory.query('indexed', { text: 'Another note 3 about gulls over the harbour.', topK: 1, efSearch: 64 });
    assert.equal(hit?.docId, 'b3');
    const stats = await memory.stats('indexed');
    assert.equal(stats.indexState, 'hnsw');
    assert.equal(stats.recall, collection.recall);
  });

  test('bad input: empty documents, duplicate ids, wrong vectors, unknown and invalid names, a query with both or neither of text and vector', async () => {
    setUp();
    await memory.create('strict', { model: bed.fixtures.onnxBert });
    const c = await memory.get('strict');
    await assert.rejects(memory.add('strict', [{ text: '   ' }]), (e) => isHearthError(e, 'USAGE') && /empty/.test(e.message));
    await assert.rejects(memory.add('strict', [{ id: 'x', text: 'a' }, { id: 'x', text: 'b' }]), (e) => isHearthError(e, 'USAGE') && /twice/.test(e.message));
    await assert.rejects(memory.query('strict', { vector: [1, 2, 3] }), (e) => isHearthError(e, 'VECTOR_INVALID'));
    await assert.rejects(memory.query('strict', { vector: new Array(c.dimensions).fill(0) }), (e) => isHearthError(e, 'VECTOR_INVALID'));
    await assert.rejects(memory.query('strict', { vector: [Number.NaN, ...new Array(c.dimensions - 1).fill(1)] }), (e) => isHearthError(e, 'VECTOR_INVALID'));
    await assert.rejects(memory.query('strict', {}), (e) => isHearthError(e, 'USAGE'));
    await assert.rejects(memory.query('strict', { text: 'a', vector: unit(c) }), (e) => isHearthError(e, 'USAGE'));
    await assert.rejects(memory.query('nowhere', { text: 'a' }), (e) => isHearthError(e, 'COLLECTION_NOT_FOUND'));
    await assert.rejects(memory.query('../x', { text: 'a' }), (e) => isHearthError(e, 'COLLECTION_NAME_INVALID'));
    await assert.rejects(memory.create('strict', { space: 'strict' }), (e) => isHearthError(e, 'COLLECTION_EXISTS'));
    await assert.rejects(memory.create('other', { space: 'no-such-space' }), (e) => isHearthError(e, 'SPACE_NOT_FOUND'));
    await memory.create('held', { space: 'strict' });
    await assert.rejects(memory.create('held', { model: bed.fixtures.onnxBert }), (e) => isHearthError(e, 'COLLECTION_EXISTS'));
    await assert.rejects(spaces.get('held'), (e) => isHearthError(e, 'SPACE_NOT_FOUND'), 'a taken name leaves no stray space behind');
    assert.deepEqual((await memory.store.counts(c)).documents, 0, 'nothing was written');
  });
});

function unit(c: { dimensions: number }): number[] {
  const v = new Array<number>(c.dimensions).fill(0);
  v[0] = 1;
  return v;
}
