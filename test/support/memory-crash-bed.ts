/**
 * The bed of the kill -9 tests of vector memory (issue 14): a sandbox, the
 * fixture model, DOCUMENTS files of a few chunks each, and a collection
 * `clean` that a run never killed filled with them, the reference every
 * killed-and-resumed collection is compared with. On Postgres, the bed
 * starts a throwaway server and gives the test connections of its own, to
 * watch the child from outside and to hold locks against it.
 */
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { after, before } from 'node:test';
import pg from 'pg';
import { loadConfig, type Config } from '../../src/config/index.js';
import type { SqlEngine } from '../../src/memory/engine.js';
import { missingRuntimeEnv } from '../../src/runtime/runtime-env.js';
import { writeBertOnnxFixture } from './bert-onnx-fixture.js';
import { killStrays, runHearth, type CliResult } from './hearth-cli.js';
import { withMemoryDatabase } from './memory-inspect.js';
import { startPostgres, type PostgresServer } from './postgres.js';
import { createSandbox, type Sandbox } from './sandbox.js';
import { waitFor } from './wait.js';

/** Four `memory add` batches of 64 files; each file is a few chunks, so one batch crosses INDEX_THRESHOLD. */
export const DOCUMENTS = 256;
export const INDEX_THRESHOLD = '100';

export interface AddJson {
  added: number;
  unchanged: number;
  chunks: number;
}

export interface StatsJson {
  documents: number;
  chunks: number;
  invalidVectors: number;
  indexState: string;
  recall: number | null;
}

export interface CrashBed {
  /** Why the engine is not there (Postgres not installed); the tests skip with it. */
  skip: string | false;
  /** The documents' files, in the order `memory add` takes them, and their folder. */
  files: string[];
  folder: string;
  env(extra?: Record<string, string>): Record<string, string>;
  config(): Readonly<Config>;
  memory(args: string[], extra?: Record<string, string>): Promise<CliResult>;
  stats(name: string): Promise<StatsJson>;
  /** Opens the memory database in this process (PGlite: only while no hearth holds it) for `work`. */
  inspect<T>(work: (engine: SqlEngine) => Promise<T>): Promise<T>;
  /** A connection of the test's own (Postgres only). */
  client(): Promise<pg.Client>;
}

/** A document id as `hearth memory add` makes it from a path: relative to the current folder, which the children share with this process. */
export const idOf = (path: string) => relative(process.cwd(), path).split(sep).join('/');

export function ok(r: CliResult): CliResult {
  assert.equal(r.code, 0, `exit ${r.code} (${r.signal})\n${r.stdout}\n${r.stderr}`);
  return r;
}

export function killedByUs(r: CliResult): void {
  assert.equal(r.signal, 'SIGKILL', `the child ended by itself before the kill:\n${r.stdout}\n${r.stderr}`);
}

function documentText(i: number): string {
  const places = ['harbour', 'lighthouse', 'market', 'bakery', 'station', 'orchard', 'library'];
  return Array.from({ length: 12 }, (_, j) => `Note ${i}, line ${j}: the ${places[(i + j) % places.length]} opens at ${(i * 7 + j) % 24} o'clock, and gull ${j} circles mast ${i % 13}.`).join(' ');
}

/** Registers the bed's before and after hooks in the current suite. */
export function crashBed(engine: 'pglite' | 'postgres'): CrashBed {
  let box: Sandbox;
  let server: PostgresServer | undefined;
  const bed: CrashBed = {
    skip: false,
    files: [],
    folder: '',
    env: (extra = {}) =>
      box.env({
        HEARTH_THREADS: '1',
        // The runtime environment given up front: the CLI then runs in the process spawned here, with no relaunched child, so SIGKILL lands on the one doing the work.
        ...missingRuntimeEnv({}),
        // No index unless a test asks for one.
        HEARTH_MEMORY_INDEX_THRESHOLD: '1000000',
        ...(server ? { HEARTH_DATABASE_URL: server.url } : {}),
        ...extra,
      }),
    config: () => loadConfig(bed.env()),
    memory: (args, extra = {}) => runHearth(['memory', ...args], bed.env(extra)),
    stats: async (name) => JSON.parse(ok(await bed.memory(['stats', name, '--json'])).stdout) as StatsJson,
    inspect: (work) => withMemoryDatabase(bed.config(), work),
    client: async () => {
      const client = new pg.Client({ connectionString: server!.url });
      await client.connect();
      return client;
    },
  };

  before(async () => {
    box = await createSandbox();
    if (engine === 'postgres') {
      const started = await startPostgres();
      if ('unavailable' in started) {
        bed.skip = started.unavailable;
        return;
      }
      server = started;
      // A backend whose client died then notices it while it waits on a lock (the default, 0, waits on until the lock is free).
      const admin = await bed.client();
      await admin.query(`ALTER DATABASE hearth SET client_connection_check_interval = '100ms'`);
      await admin.end();
    }
    const model = join(box.root, 'tiny-onnx');
    await writeBertOnnxFixture(model, { seed: 4 });
    bed.folder = join(box.root, 'notes');
    await mkdir(bed.folder);
    bed.files = Array.from({ length: DOCUMENTS }, (_, i) => join(bed.folder, `n${String(i).padStart(3, '0')}.txt`));
    await Promise.all(bed.files.map((file, i) => writeFile(file, documentText(i))));
    ok(await bed.memory(['create', 'clean', '--model', model]));
    const clean = JSON.parse(ok(await bed.memory(['add', 'clean', bed.folder, '--json'])).stdout) as AddJson;
    assert.equal(clean.added, DOCUMENTS);
    assert.ok(clean.chunks >= 2 * DOCUMENTS, `each document is a few chunks (${clean.chunks} in all)`);
  });
  after(async () => {
    killStrays();
    await server?.stop();
    await box?.cleanup();
  });
  return bed;
}

/** On Postgres: the backends of the test's database that wait on a lock while running a statement like `pattern`. */
export async function waitingBackends(client: pg.Client, pattern: string): Promise<number[]> {
  const { rows } = await client.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock' AND query LIKE $1`,
    [pattern],
  );
  return rows.map((r) => r.pid);
}

/** On Postgres: waits until the server has ended the backend of a killed client (it notices the closed connection). */
export async function backendGone(client: pg.Client, pid: number): Promise<void> {
  await waitFor(async () => (await client.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1`, [pid])).rowCount === 0, { what: `backend ${pid} to end` });
}
