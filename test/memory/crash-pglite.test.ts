/**
 * kill -9 in vector memory on PGlite (issue 14): a `hearth memory add` killed
 * in the middle of its batches, and one killed while it builds the HNSW
 * index. After each kill the database is reopened by the next command (which
 * waits out the dead process's lock), what the tables hold is judged by
 * invariants that hold wherever the kill landed, and the same command resumes
 * to the same end as a run that was never killed.
 *
 * PGlite lives inside the child, so the child is watched through its log,
 * and it is given `-` (stdin, held open) after its files: it writes every
 * batch before it and then waits, so it cannot finish before the kill, and
 * the kill lands after the logged event, wherever the child then is.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import type { CliResult } from '../support/hearth-cli.js';
import { killHard, spawnHearthHoldingStdin } from '../support/held-stdin-cli.js';
import { crashBed, DOCUMENTS, INDEX_THRESHOLD, killedByUs, ok, type AddJson } from '../support/memory-crash-bed.js';
import { assertConsistent, assertSameContent, hnswIndexes, readCollection } from '../support/memory-inspect.js';
import { GENEROUS_MS, waitForOutput } from '../support/wait.js';

/** Documents `hearth memory add` wrote before it died, as its debug log counted them ('batch written' follows each commit). */
function loggedDocuments(stderr: string): number {
  let documents = 0;
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{')) continue;
    const entry = JSON.parse(line) as { msg?: string; documents?: number };
    if (entry.msg === 'batch written') documents += entry.documents ?? 0;
  }
  return documents;
}

describe('kill -9 in vector memory: PGlite', { timeout: 4 * GENEROUS_MS }, () => {
  const bed = crashBed('pglite');

  test('killed mid-add: the reopened database holds whole documents only, and the same add embeds only the rest', async () => {
    ok(await bed.memory(['create', 'notes', '--space', 'clean']));
    const child = spawnHearthHoldingStdin(['memory', 'add', 'notes', bed.folder, '-'], bed.env({ HEARTH_LOG_LEVEL: 'debug', HEARTH_LOG_FORMAT: 'json' }));
    let killed: CliResult;
    try {
      await waitForOutput(child, /"msg":"batch written"/);
    } finally {
      killed = await killHard(child);
    }
    killedByUs(killed);
    const logged = loggedDocuments(killed.stderr);

    // The reopen: the same command a user runs next (it waits out the dead process's lock).
    const between = await bed.stats('notes');
    assert.ok(between.documents >= logged && between.documents <= DOCUMENTS, `${between.documents} documents stored, ${logged} logged as committed`);
    assert.equal(between.invalidVectors, 0);
    await bed.inspect(async (e) => {
      const stored = await readCollection(e, 'notes');
      assertConsistent(stored, await readCollection(e, 'clean'), 'after the kill');
      assert.equal(stored.documents.size, between.documents);
    });

    const resumed = JSON.parse(ok(await bed.memory(['add', 'notes', bed.folder, '--json'])).stdout) as AddJson;
    assert.equal(resumed.unchanged, between.documents, 'every document committed before the kill is kept, and not embedded again');
    assert.equal(resumed.added, DOCUMENTS - between.documents);
    // The same documents, chunks and vectors as the run that was never killed.
    await bed.inspect((e) => assertSameContent(e, 'notes', 'clean'));
  });

  test('killed while it builds the HNSW index: the next add builds it again, measures its recall, and completes', async (t: TestContext) => {
    ok(await bed.memory(['create', 'indexed', '--space', 'clean']));
    // A slow build (many recall samples) leaves a wide window for the kill; the test holds wherever it lands.
    const slow = join(bed.folder, '..', 'slow-build.json');
    await writeFile(slow, JSON.stringify({ memory: { index: { efConstruction: 400, recallSamples: 1000 } } }));
    const indexing = { HEARTH_MEMORY_INDEX_THRESHOLD: INDEX_THRESHOLD };
    const child = spawnHearthHoldingStdin(['memory', 'add', 'indexed', bed.folder, '-'], bed.env({ ...indexing, HEARTH_CONFIG: slow, HEARTH_LOG_LEVEL: 'info', HEARTH_LOG_FORMAT: 'json' }));
    let killed: CliResult;
    try {
      await waitForOutput(child, /"msg":"building the HNSW index"/);
    } finally {
      killed = await killHard(child);
    }
    killedByUs(killed);
    const built = /"msg":"HNSW index built"/.test(killed.stderr);

    const between = await bed.stats('indexed');
    t.diagnostic(`the kill landed ${built ? 'after' : 'during'} the build; the index state was then ${between.indexState}`);
    // 'hnsw' is recorded just before it is logged: a logged build is a recorded one, an unlogged one may be either.
    if (built) assert.equal(between.indexState, 'hnsw');
    else assert.ok(['building', 'hnsw'].includes(between.indexState), between.indexState);
    await bed.inspect(async (e) => assertConsistent(await readCollection(e, 'indexed'), await readCollection(e, 'clean'), 'after the kill'));

    // The same add again: the build left 'building' is done again at its first batch.
    const resumed = JSON.parse(ok(await bed.memory(['add', 'indexed', bed.folder, '--json'], indexing)).stdout) as AddJson;
    assert.equal(resumed.unchanged, between.documents);
    assert.equal(resumed.added, DOCUMENTS - between.documents);
    await bed.inspect(async (e) => {
      const indexed = await readCollection(e, 'indexed');
      assert.equal(indexed.indexState, 'hnsw');
      assert.ok(indexed.recall !== null && indexed.recall > 0.5, `recall ${indexed.recall}`);
      assert.deepEqual(await hnswIndexes(e, indexed.id), [{ valid: true, ready: true }]);
      await assertSameContent(e, 'indexed', 'clean');
    });
  });
});
