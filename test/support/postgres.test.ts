import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { encodeVector } from '../../src/memory/pg-binary.js';
import { startPostgres } from './postgres.js';
import { GENEROUS_MS } from './wait.js';

/** Resolves true when nothing listens on the port any more (the connection is refused). */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });
}

describe('test/support/postgres: a throwaway Postgres with pgvector', { timeout: GENEROUS_MS * 2 }, () => {
  test('answers vector SQL, round-trips a vector in pgvector\'s binary format, and is gone after stop()', async (t) => {
    const server = await startPostgres();
    if ('unavailable' in server) return t.skip(server.unavailable);
    let stopped = false;
    t.after(() => (stopped ? undefined : server.stop()));

    assert.match(server.url, /^postgres:\/\/hearth@127\.0\.0\.1:\d+\/hearth$/);
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      const distance = await client.query(`SELECT '[1,2,3]'::vector <=> '[1,2,4]'::vector AS d`);
      const expected = 1 - 17 / Math.sqrt(14 * 21);
      assert.ok(Math.abs(Number(distance.rows[0].d) - expected) < 1e-6, `cosine distance ${distance.rows[0].d}, expected ${expected}`);

      await client.query('CREATE TABLE items (id int PRIMARY KEY, embedding vector(3))');
      const sent = [0.5, -1.25, 3];
      await client.query('INSERT INTO items VALUES (1, $1::vector)', [encodeVector(sent)]);
      const back = await client.query('SELECT embedding::text AS e FROM items WHERE id = 1');
      assert.deepEqual(JSON.parse(back.rows[0].e), sent);
      const nearest = await client.query('SELECT id, embedding <=> $1::vector AS d FROM items ORDER BY embedding <=> $1::vector LIMIT 1', [encodeVector(sent)]);
      assert.deepEqual(nearest.rows.map((r) => [r.id, Number(r.d)]), [[1, 0]]);
    } finally {
      await client.end();
    }

    await server.stop();
    stopped = true;
    assert.equal(await refused(server.port), true, `port ${server.port} still accepts connections after stop()`);
    assert.equal(existsSync(server.dir), false, `${server.dir} is left behind`);
    await server.stop(); // a second stop is a no-op
  });

  test('a process that exits without stop() leaves no server and no directory behind', async (t) => {
    // The child starts a server and dies of an uncaught error, as a failing test file would.
    const module = pathToFileURL(join(import.meta.dirname, 'postgres.ts')).href;
    const script = `
      import { startPostgres } from ${JSON.stringify(module)};
      const server = await startPostgres();
      console.log(JSON.stringify('unavailable' in server ? server : { port: server.port, dir: server.dir }));
      if (!('unavailable' in server)) throw new Error('the test failed before stop()');`;
    const child = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: GENEROUS_MS }).then(
      (ok) => ({ ...ok, code: 0 }),
      (error: { stdout: string; stderr: string; code: number }) => error,
    );
    const printed = JSON.parse(child.stdout.trim().split('\n').at(-1) ?? 'null') as { port: number; dir: string } | { unavailable: string } | null;
    assert.ok(printed, `the child printed nothing; stderr:\n${child.stderr}`);
    if ('unavailable' in printed) return t.skip(printed.unavailable);

    assert.notEqual(child.code, 0, 'the child was meant to fail');
    assert.match(child.stderr, /the test failed before stop\(\)/);
    assert.equal(await refused(printed.port), true, `port ${printed.port} still accepts connections after the process exited`);
    assert.equal(existsSync(printed.dir), false, `${printed.dir} is left behind`);
  });

  test('without Postgres it says why, and HEARTH_REQUIRE_POSTGRES=1 makes that an error', async () => {
    const binDir = '/nonexistent/postgresql/bin';
    const result = await startPostgres({ binDir, env: {} });
    assert.ok('unavailable' in result);
    assert.match(result.unavailable, /no PostgreSQL server binaries .*\/nonexistent\/postgresql\/bin/);
    await assert.rejects(startPostgres({ binDir, env: { HEARTH_REQUIRE_POSTGRES: '1' } }), /HEARTH_REQUIRE_POSTGRES=1, but no PostgreSQL server binaries/);
  });
});
