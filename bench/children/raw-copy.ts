import { endianness } from 'node:os';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/**
 * M1's baseline: the same rows loaded by a raw binary COPY into a bare table
 * (the chunk table's columns, `vector(d)`, no keys, no checks, no documents
 * table), through each engine's own API, with the COPY stream encoded here.
 * It is written apart from src/memory/pg-binary.ts on purpose: a baseline
 * that shared the library's encoder would hide that encoder's cost.
 */
export interface RawRows {
  /** Row i: doc id, chunk 0, its text, 0 tokens, and its vector. */
  count: number;
  id(i: number): string;
  text(i: number): string;
  vector(i: number): Float32Array;
}

const encoder = new TextEncoder();
const HEADER = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

/** COPY BINARY of rows [from, to): header, 5 fields a row (length-prefixed), trailer. */
export function encodeRows(rows: RawRows, from: number, to: number): Buffer {
  if (endianness() !== 'LE') throw new Error('the raw COPY encoder byte-swaps float32s from little-endian');
  const ids: Uint8Array[] = [];
  const texts: Uint8Array[] = [];
  let size = HEADER.length + 8 + 2;
  for (let i = from; i < to; i++) {
    ids.push(encoder.encode(rows.id(i)));
    texts.push(encoder.encode(rows.text(i)));
    size += 2 + 5 * 4 + ids[ids.length - 1]!.length + 4 + texts[texts.length - 1]!.length + 4 + 4 + 4 * rows.vector(i).length;
  }
  const out = Buffer.allocUnsafe(size);
  HEADER.copy(out, 0);
  let o = HEADER.length;
  o = out.writeInt32BE(0, o);
  o = out.writeInt32BE(0, o);
  for (let i = from; i < to; i++) {
    const id = ids[i - from]!;
    const text = texts[i - from]!;
    const v = rows.vector(i);
    o = out.writeInt16BE(5, o);
    o = out.writeInt32BE(id.length, o);
    out.set(id, o);
    o += id.length;
    o = out.writeInt32BE(4, o);
    o = out.writeInt32BE(0, o);
    o = out.writeInt32BE(text.length, o);
    out.set(text, o);
    o += text.length;
    o = out.writeInt32BE(4, o);
    o = out.writeInt32BE(0, o);
    o = out.writeInt32BE(4 + 4 * v.length, o);
    o = out.writeInt16BE(v.length, o);
    o = out.writeInt16BE(0, o);
    // The floats' bytes copied as they are, then byte-swapped to big-endian in place (native, not per float in JS).
    out.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), o);
    out.subarray(o, o + v.byteLength).swap32();
    o += v.byteLength;
  }
  out.writeInt16BE(-1, o);
  return out;
}

const bareTable = (table: string, dims: number) => `CREATE TABLE ${table} (doc_id text, chunk integer, text text, tokens integer, embedding vector(${dims}))`;
const copySql = (table: string, source: string) => `COPY ${table} (doc_id, chunk, text, tokens, embedding) FROM ${source} WITH (FORMAT binary)`;

/** Loads `rows` into a new PGlite database in `dataDir`, `batch` rows per COPY; returns the milliseconds of the loading alone. */
export async function rawCopyPglite(dataDir: string, rows: RawRows, dims: number, batch: number): Promise<number> {
  const db = await PGlite.create({ dataDir, extensions: { vector } });
  try {
    await db.exec(`CREATE EXTENSION IF NOT EXISTS vector; ${bareTable('bare', dims)}`);
    const started = performance.now();
    for (let at = 0; at < rows.count; at += batch) {
      await db.query(copySql('bare', `'/dev/blob'`), [], { blob: new Blob([encodeRows(rows, at, Math.min(rows.count, at + batch))]) });
    }
    const ms = performance.now() - started;
    const [{ n }] = (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM bare')).rows as [{ n: number }];
    if (n !== rows.count) throw new Error(`the raw COPY loaded ${n} rows of ${rows.count}`);
    return ms;
  } finally {
    await db.close();
  }
}

/** The same into a Postgres table `table` (dropped after), over one connection, through pg-copy-streams. */
export async function rawCopyPostgres(url: string, table: string, rows: RawRows, dims: number, batch: number): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP TABLE IF EXISTS ${table}; ${bareTable(table, dims)}`);
    const started = performance.now();
    for (let at = 0; at < rows.count; at += batch) {
      await pipeline(Readable.from([encodeRows(rows, at, Math.min(rows.count, at + batch))]), client.query(copyFrom(copySql(table, 'STDIN'))));
    }
    const ms = performance.now() - started;
    const n = Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n);
    if (n !== rows.count) throw new Error(`the raw COPY loaded ${n} rows of ${rows.count}`);
    return ms;
  } finally {
    await client.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    await client.end();
  }
}
