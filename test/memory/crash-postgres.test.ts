/**
 * kill -9 in vector memory on Postgres (issue 14): a `hearth memory add`
 * killed inside a write transaction, and one killed while it builds the HNSW
 * index. The test holds a lock from outside, so the child stops at a known
 * statement and is killed there, with no timing involved; the server rolls
 * the dead client's transaction back. Then what the tables hold is judged by
 * invariants, and the work resumes to the same end as a run never killed.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { describe, test, type TestContext } from 'node:test';
import type pg from 'pg';
import { spawnHearth, type HearthProcess } from '../support/hearth-cli.js';
import { killHard } from '../support/held-stdin-cli.js';
import { backendGone, crashBed, DOCUMENTS, idOf, INDEX_THRESHOLD, killedByUs, ok, waitingBackends, type AddJson } from '../support/memory-crash-bed.js';
import { assertConsistent, assertSameContent, hnswIndexes, invalidIndexes, readCollection } from '../support/memory-inspect.js';
import { GENEROUS_MS, waitFor, waitForOutput } from '../support/wait.js';

/** The document the insert test holds: in the add's second batch of files, so the first batch is committed before it. */
const HELD_DOCUMENT = 70;

describe('kill -9 in vector memory: Postgres', { timeout: 4 * GENEROUS_MS }, () => {
  const bed = crashBed('postgres');

  /**
   * Runs `hearth memory <args>` while the test's own transaction holds what
   * `hold` takes, waits until the child's backend waits on it running a
   * statement like `statement`, and SIGKILLs the child; resolves once the
   * server has ended that backend (so its transaction is rolled back and its
   * locks are free), with the test's transaction still open until then.
   */
  async function killWhileHeld(args: string[], env: Record<string, string>, hold: (blocker: pg.Client) => Promise<void>, statement: string, atKill: (watch: pg.Client) => Promise<void> = async () => undefined): Promise<void> {
    const watch = await bed.client();
    const blocker = await bed.client();
    let child: HearthProcess | undefined;
    try {
      await blocker.query('BEGIN');
      await hold(blocker);
      child = spawnHearth(['memory', ...args], env);
      const running = child;
      const [pid] = await waitFor(async () => {
        if (running.exitCode !== null || running.signalCode !== null) throw new Error(`the child ended before it reached ${statement}:\n${running.output.stderr}`);
        const pids = await waitingBackends(watch, statement);
        return pids.length > 0 && pids;
      }, { what: `the child to wait in ${statement}` });
      await atKill(watch);
      killedByUs(await killHard(child));
      await backendGone(watch, pid!);
    } finally {
      child?.kill('SIGKILL');
      await blocker.query('ROLLBACK').catch(() => undefined);
      await blocker.end();
      await watch.end();
    }
  }

  test('killed in a write transaction between its document rows and their chunks: none of it is kept, the earlier batches are, and the same add embeds only the rest', async (t: TestContext) => {
    if (bed.skip) return t.skip(bed.skip);
    ok(await bed.memory(['create', 'notes', '--space', 'clean']));
    // The held document is stored in an older version first, so the add must replace its chunks, which the test then holds.
    const held = bed.files[HELD_DOCUMENT]!;
    const heldId = idOf(held);
    const text = await readFile(held, 'utf8');
    await writeFile(held, 'An older version of this note.');
    ok(await bed.memory(['add', 'notes', held]));
    await writeFile(held, text);
    const seeded = await bed.inspect((e) => readCollection(e, 'notes'));

    // The child's transaction has upserted the rows of its batch of documents, and waits to delete the held one's old chunks.
    await killWhileHeld(
      ['add', 'notes', bed.folder],
      bed.env(),
      async (blocker) => void (await blocker.query(`SELECT 1 FROM hearth_chunks_${seeded.id} WHERE doc_id = $1 FOR UPDATE`, [heldId])),
      `DELETE FROM hearth_chunks_${seeded.id} %`,
    );

    const between = await bed.stats('notes');
    const committed = await bed.inspect(async (e) => {
      const stored = await readCollection(e, 'notes');
      assertConsistent(stored, await readCollection(e, 'clean'), 'after the kill');
      assert.deepEqual(stored.documents.get(heldId), seeded.documents.get(heldId), 'the held document keeps its previous version');
      return [...stored.documents.keys()].filter((d) => d !== heldId);
    });
    assert.equal(between.documents, committed.length + 1);
    assert.ok(committed.length >= 64, `the first batch of files was committed (${committed.length} documents)`);
    assert.ok(committed.every((d) => d < heldId), 'nothing from the killed transaction was committed');

    const resumed = JSON.parse(ok(await bed.memory(['add', 'notes', bed.folder, '--json'])).stdout) as AddJson;
    assert.equal(resumed.unchanged, committed.length, 'every document committed before the kill is kept, and not embedded again');
    assert.equal(resumed.added, DOCUMENTS - committed.length);
    await bed.inspect((e) => assertSameContent(e, 'notes', 'clean'));
  });

  test('killed while it builds the HNSW index: the invalid index it left is replaced when a server opens the collection', async (t: TestContext) => {
    if (bed.skip) return t.skip(bed.skip);
    ok(await bed.memory(['create', 'indexed', '--space', 'clean']));
    const { id } = await bed.inspect((e) => readCollection(e, 'indexed'));
    const indexing = { HEARTH_MEMORY_INDEX_THRESHOLD: INDEX_THRESHOLD };

    // A writer that stays open: CREATE INDEX CONCURRENTLY commits the index's catalog entry (invalid), then waits for the writer to end.
    await killWhileHeld(
      ['add', 'indexed', bed.folder],
      bed.env(indexing),
      async (blocker) => void (await blocker.query(`LOCK TABLE hearth_chunks_${id} IN ROW EXCLUSIVE MODE`)),
      'CREATE INDEX CONCURRENTLY%',
      async (watch) => assert.equal((await watch.query<{ s: string }>(`SELECT index_state AS s FROM hearth_collections WHERE id = $1`, [id])).rows[0]?.s, 'building'),
    );

    const stored = await bed.inspect(async (e) => {
      const indexed = await readCollection(e, 'indexed');
      assert.equal(indexed.indexState, 'building');
      assertConsistent(indexed, await readCollection(e, 'clean'), 'after the kill');
      assert.deepEqual(await invalidIndexes(e, id), [`hearth_chunks_${id}_hnsw`], 'the build was cut short');
      return indexed;
    });

    // The reopen: a server opening memory takes up the builds nobody is doing.
    const server = spawnHearth(['serve', '--port', '0'], bed.env(indexing));
    try {
      const address = (await waitForOutput(server, /listening on (http:\/\/\S+)/))[1]!;
      await waitFor(async () => {
        const response = await fetch(`${address}/v1/collections/indexed`);
        const body = (await response.json()) as { index?: string };
        assert.equal(response.status, 200, JSON.stringify(body));
        assert.notEqual(body.index, 'failed', 'the build failed');
        return body.index === 'hnsw';
      }, { what: 'the server to build the index again' });
    } finally {
      server.kill('SIGTERM');
      ok(await server.result);
    }
    await bed.inspect(async (e) => {
      const indexed = await readCollection(e, 'indexed');
      assert.ok(indexed.recall !== null && indexed.recall > 0.5, `recall ${indexed.recall}`);
      assert.deepEqual(await invalidIndexes(e, id), []);
      assert.deepEqual(await hnswIndexes(e, id), [{ valid: true, ready: true }]);
    });

    // The add that was killed, run again: it writes the rest into the indexed collection.
    const resumed = JSON.parse(ok(await bed.memory(['add', 'indexed', bed.folder, '--json'], indexing)).stdout) as AddJson;
    assert.equal(resumed.unchanged, stored.documents.size);
    assert.equal(resumed.added, DOCUMENTS - stored.documents.size);
    await bed.inspect(async (e) => {
      assert.equal((await readCollection(e, 'indexed')).indexState, 'hnsw');
      await assertSameContent(e, 'indexed', 'clean');
    });
  });

  test(
    'killed mid-build on a Postgres that does not watch for dead clients: the same add, run while the dead build still holds its lock, returns with the index built',
    async (t: TestContext) => {
      if (bed.skip) return t.skip(bed.skip);
      ok(await bed.memory(['create', 'orphaned', '--space', 'clean']));
      const { id } = await bed.inspect((e) => readCollection(e, 'orphaned'));
      const indexing = { HEARTH_MEMORY_INDEX_THRESHOLD: INDEX_THRESHOLD };
      // Postgres's default (client_connection_check_interval = 0): a backend whose client died runs its statement on to the end.
      const deaf = { ...indexing, HEARTH_DATABASE_URL: `${bed.env().HEARTH_DATABASE_URL}?options=${encodeURIComponent('-c client_connection_check_interval=0')}` };
      const watch = await bed.client();
      const blocker = await bed.client();
      const children: HearthProcess[] = [];
      try {
        await blocker.query('BEGIN');
        await blocker.query(`LOCK TABLE hearth_chunks_${id} IN ROW EXCLUSIVE MODE`);
        const killed = spawnHearth(['memory', 'add', 'orphaned', bed.folder], bed.env(deaf));
        children.push(killed);
        const [orphan] = await waitFor(async () => {
          const pids = await waitingBackends(watch, 'CREATE INDEX CONCURRENTLY%');
          return pids.length > 0 && pids;
        }, { what: 'the index build to start' });
        killedByUs(await killHard(killed));
        // The dead client's backend still waits to build, holding the collection's index lock. The add that it had committed, run again (one batch, so one try at the index):
        const committed = [...(await bed.inspect((e) => readCollection(e, 'orphaned'))).documents.keys()];
        assert.ok(committed.length > 0);
        const again = spawnHearth(['memory', 'add', 'orphaned', ...bed.files.filter((f) => committed.includes(idOf(f))), '--json'], bed.env(indexing));
        children.push(again);
        // Ended, or on the index lock (its last statement asks for it, whether it waits in it or asks again and again).
        await waitFor(
          async () =>
            again.exitCode !== null ||
            (await watch.query(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND pid NOT IN (pg_backend_pid(), $1) AND query LIKE '%advisory_lock%'`, [orphan])).rowCount! > 0,
          { what: 'the second add to end or to ask for the index lock' },
        );
        // The writer ends: the dead client's build finishes, and its backend ends when it finds no client to answer.
        await blocker.query('ROLLBACK');
        await backendGone(watch, orphan!);
        ok(await again.result);
      } finally {
        for (const child of children) child.kill('SIGKILL');
        await blocker.query('ROLLBACK').catch(() => undefined);
        await blocker.end();
        await watch.end();
      }
      await bed.inspect(async (e) => {
        const orphaned = await readCollection(e, 'orphaned');
        assert.equal(orphaned.indexState, 'hnsw', 'the build the dead process left is taken up');
        assert.ok(orphaned.recall !== null, 'recall measured');
        assert.deepEqual(await hnswIndexes(e, id), [{ valid: true, ready: true }]);
      });
    },
  );
});
