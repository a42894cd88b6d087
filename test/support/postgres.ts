import { execFile, spawnSync } from 'node:child_process';
import { constants, existsSync, readFileSync, rmSync } from 'node:fs';
import { access, appendFile, chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { GENEROUS_MS } from './wait.js';

/**
 * A throwaway PostgreSQL server with pgvector for the memory suite (issue 14): its own initdb in a
 * temp directory, on a random loopback port, stopped and deleted by stop() or at process exit.
 * `.ci/provision-postgres` installs the binaries and the extension.
 */
export interface PostgresServer {
  /** postgres://hearth@127.0.0.1:PORT/hearth, a database with `CREATE EXTENSION vector` done. */
  url: string;
  port: number;
  /** The temp directory holding the cluster and its socket; gone after stop(). */
  dir: string;
  /** pg_ctl stop -m fast, then removes the directory. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /** Where HEARTH_REQUIRE_POSTGRES is read from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** A PostgreSQL bin directory, instead of looking for Postgres 15's. */
  binDir?: string;
  signal?: AbortSignal;
}

const PG_MAJOR = 15;
const USER = 'hearth';
const DATABASE = 'hearth';
const START_ATTEMPTS = 5;
const run = promisify(execFile);

/**
 * Starts a server, or says why it cannot: `{ unavailable }` lets a test skip with the reason on a
 * machine without Postgres. With HEARTH_REQUIRE_POSTGRES=1 (as `.ci/run` sets) that throws instead,
 * so CI never skips the Postgres suite silently.
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer | { unavailable: string }> {
  const env = options.env ?? process.env;
  const unavailable = (reason: string): { unavailable: string } => {
    if (env.HEARTH_REQUIRE_POSTGRES === '1') throw new Error(`HEARTH_REQUIRE_POSTGRES=1, but ${reason}`);
    return { unavailable: reason };
  };
  const hint = 'run .ci/provision-postgres';

  const binDir = options.binDir ?? (await findBinDir());
  if (binDir === undefined || !(await allExecutable(binDir, ['initdb', 'pg_ctl', 'postgres']))) {
    return unavailable(`no PostgreSQL server binaries (looked in ${binDir ?? `/usr/lib/postgresql/${PG_MAJOR}/bin and pg_config --bindir`}; ${hint})`);
  }
  const sharedir = await pgConfig(binDir, '--sharedir');
  if (sharedir !== undefined && !existsSync(join(sharedir, 'extension', 'vector.control'))) {
    return unavailable(`the vector extension is not installed for ${binDir} (no ${join(sharedir, 'extension', 'vector.control')}; ${hint})`);
  }

  // initdb refuses to run as root, so root (CI) runs the cluster as the postgres user.
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? await userIds('postgres') : undefined;
  if (asRoot && owner === undefined) return unavailable(`running as root and there is no postgres user to run initdb as (${hint})`);

  const dir = await mkdtemp(join(tmpdir(), 'hearth-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'postgres.log');
  const signal = options.signal;
  const pgRun = (tool: string, args: string[]) => {
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(binDir, tool), ...args]] : [join(binDir, tool), args];
    return run(file, argv, { cwd: dir, signal, env: { ...process.env, LC_ALL: 'C' } });
  };
  const pgCtlSync = (args: string[]) => {
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(binDir, 'pg_ctl'), ...args]] : [join(binDir, 'pg_ctl'), args];
    return spawnSync(file, argv, { cwd: dir, stdio: 'ignore', timeout: GENEROUS_MS });
  };

  // A test that fails or exits before stop() must not leave a server behind; 'exit' handlers must be
  // synchronous, and the cluster is thrown away, so an immediate stop is enough.
  const onExit = () => {
    if (existsSync(join(data, 'postmaster.pid'))) pgCtlSync(['stop', '-D', data, '-m', 'immediate', '-w']);
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', onExit);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      try {
        await pgRun('pg_ctl', ['stop', '-D', data, '-m', 'fast', '-w', '-t', String(GENEROUS_MS / 1000)]);
      } catch (error) {
        // Never started, or already gone: nothing to stop. Anything else is a real failure.
        if (existsSync(join(data, 'postmaster.pid'))) throw withLog(error, log);
      }
      await rm(dir, { recursive: true, force: true });
      process.off('exit', onExit);
    })());

  try {
    if (owner) await chown(dir, owner.uid, owner.gid);
    await pgRun('initdb', ['-D', data, '--auth=trust', '-U', USER, '--no-sync', '--no-instructions', '--encoding=UTF8', '--no-locale']);
    // Throwaway test data: durability settings off for speed; TCP only on loopback, the socket in
    // our own directory (the default /var/run/postgresql may not exist or be writable).
    await appendFile(
      join(data, 'postgresql.conf'),
      [
        `listen_addresses = '127.0.0.1'`,
        `unix_socket_directories = '${dir.replaceAll("'", "''")}'`,
        'fsync = off',
        'synchronous_commit = off',
        'full_page_writes = off',
        '',
      ].join('\n'),
    );
    const port = await startOnFreePort(pgRun, data, log);
    const admin = new pg.Client({ host: '127.0.0.1', port, user: USER, database: 'postgres' });
    await admin.connect();
    let hasVector: boolean;
    try {
      // The authoritative check, for a bin directory without pg_config to look for the files with.
      hasVector = (await admin.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'vector'`)).rowCount !== 0;
      if (hasVector) await admin.query(`CREATE DATABASE ${DATABASE}`);
    } finally {
      await admin.end();
    }
    if (!hasVector) {
      await stop();
      return unavailable(`the vector extension is not installed for ${binDir} (${hint})`);
    }
    const client = new pg.Client({ host: '127.0.0.1', port, user: USER, database: DATABASE });
    await client.connect();
    try {
      await client.query('CREATE EXTENSION vector');
    } finally {
      await client.end();
    }
    return { url: `postgres://${USER}@127.0.0.1:${port}/${DATABASE}`, port, dir, stop };
  } catch (error) {
    await stop().catch(() => onExit());
    throw error;
  }
}

type PgRun = (tool: string, args: string[]) => Promise<unknown>;

/**
 * pg_ctl -w returns once the server accepts connections (it reads the postmaster's state, no
 * sleeping). A free port found by binding port 0 can be taken by someone else before postgres binds
 * it, so a bind failure picks another port.
 */
async function startOnFreePort(pgRun: PgRun, data: string, log: string): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      await pgRun('pg_ctl', ['start', '-D', data, '-l', log, '-w', '-t', String(GENEROUS_MS / 1000), '-o', `-p ${port}`]);
      return port;
    } catch (error) {
      const text = await readFile(log, 'utf8').catch(() => '');
      if (attempt < START_ATTEMPTS && /could not bind|Address already in use/.test(text)) continue;
      throw withLog(error, log, text);
    }
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function withLog(error: unknown, log: string, text?: string): Error {
  let logText = text ?? '';
  if (text === undefined) {
    try {
      logText = readFileSync(log, 'utf8');
    } catch {
      // No log yet: the failure happened before postgres wrote one.
    }
  }
  const tail = logText.split('\n').slice(-20).join('\n');
  return new Error(`${(error as Error).message}\npostgres log (${log}):\n${tail}`, { cause: error });
}

async function findBinDir(): Promise<string | undefined> {
  const debian = `/usr/lib/postgresql/${PG_MAJOR}/bin`;
  if (await allExecutable(debian, ['initdb'])) return debian;
  try {
    return (await run('pg_config', ['--bindir'])).stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

async function pgConfig(binDir: string, flag: string): Promise<string | undefined> {
  try {
    return (await run(join(binDir, 'pg_config'), [flag])).stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}

async function allExecutable(dir: string, tools: string[]): Promise<boolean> {
  try {
    await Promise.all(tools.map((tool) => access(join(dir, tool), constants.X_OK)));
    return true;
  } catch {
    return false;
  }
}

async function userIds(name: string): Promise<{ uid: number; gid: number } | undefined> {
  try {
    const [uid, gid] = await Promise.all([run('id', ['-u', name]), run('id', ['-g', name])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch {
    return undefined;
  }
}
