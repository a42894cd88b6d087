import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isHearthError } from '../../src/errors/index.js';
import { silentLogger } from '../../src/log/logger.js';
import { CollectionStore } from '../../src/memory/collection-store.js';
import { lockDataDir } from '../../src/memory/data-dir-lock.js';
import { openPgliteEngine } from '../../src/memory/engine-pglite.js';
import { migrate } from '../../src/memory/migrations.js';
import { axis, sqlEngineConformance } from '../support/sql-engine-conformance.js';

const roots: string[] = [];
const freshDir = async () => {
  const root = await mkdtemp(join(tmpdir(), 'hearth-pglite-'));
  roots.push(root);
  return join(root, 'db');
};
after(() => Promise.all(roots.map((r) => rm(r, { recursive: true, force: true }))));

sqlEngineConformance('PGlite', async () => openPgliteEngine({ dataDir: await freshDir(), durable: false, logger: silentLogger }));

describe('PGlite: one process per data folder, and data that outlives the process', () => {
  test('a second process on the same folder gets MEMORY_LOCKED and writes nothing; the data survives a reopen', async () => {
    const dataDir = await freshDir();
    const engine = await openPgliteEngine({ dataDir, durable: false, logger: silentLogger });
    await migrate(engine);
    const store = new CollectionStore(engine);
    const c = await store.create('kept', 'space', 4);
    await store.write(c, [{ docId: 'a', contentHash: 'h', metadata: {}, chunks: [{ text: 'x', tokens: 1, vector: axis(4, 0) }] }]);

    // A second process, as a second `hearth memory` command would be.
    const script = `
      import { openPgliteEngine } from ${JSON.stringify(fileURLToPath(new URL('../../src/memory/engine-pglite.ts', import.meta.url)))};
      import { silentLogger } from ${JSON.stringify(fileURLToPath(new URL('../../src/log/logger.ts', import.meta.url)))};
      try { await openPgliteEngine({ dataDir: ${JSON.stringify(dataDir)}, durable: false, logger: silentLogger }); console.log('opened'); }
      catch (e) { console.log(e.code); }`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    await new Promise((resolve) => child.on('close', resolve));
    assert.equal(out.trim(), 'MEMORY_LOCKED');

    await engine.close();
    await engine.close(); // idempotent
    const reopened = await openPgliteEngine({ dataDir, durable: true, logger: silentLogger });
    try {
      const again = new CollectionStore(reopened);
      assert.deepEqual(await again.counts(await again.get('kept')), { documents: 1, chunks: 1, invalidVectors: 0 });
      assert.deepEqual(await reopened.query('SHOW fsync'), [{ fsync: 'on' }], 'durable turns fsync on');
    } finally {
      await reopened.close();
    }
  });

  test("a lock whose process is gone (kill -9) is taken over at once; one whose process lives is not, however long its heartbeat is late", async () => {
    const dataDir = await freshDir();
    const script = `
      import { lockDataDir } from ${JSON.stringify(fileURLToPath(new URL('../../src/memory/data-dir-lock.ts', import.meta.url)))};
      import { silentLogger } from ${JSON.stringify(fileURLToPath(new URL('../../src/log/logger.ts', import.meta.url)))};
      await lockDataDir(${JSON.stringify(dataDir)}, silentLogger);
      console.log('locked');
      setInterval(() => {}, 1000);`;
    const holder = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((resolve) => holder.on('exit', resolve));
    await new Promise<void>((resolve) => holder.stdout.on('data', (d: Buffer) => d.toString().includes('locked') && resolve()));
    // Its heartbeat is far from stale, and it lives: the folder is its.
    await assert.rejects(lockDataDir(dataDir, silentLogger), (e) => isHearthError(e, 'MEMORY_LOCKED'));
    holder.kill('SIGKILL');
    await exited;
    const unlock = await lockDataDir(dataDir, silentLogger);
    await unlock();
    await unlock();
  });

  test('in this process too, a second open of an open folder is MEMORY_LOCKED', async () => {
    const dataDir = await freshDir();
    const engine = await openPgliteEngine({ dataDir, durable: false, logger: silentLogger });
    try {
      await assert.rejects(openPgliteEngine({ dataDir, durable: false, logger: silentLogger }), (e) => isHearthError(e, 'MEMORY_LOCKED'));
    } finally {
      await engine.close();
    }
  });
});
