/**
 * Postgres' binary wire formats for what the bulk path sends: a vector in
 * pgvector's receive format, and rows for `COPY … WITH (FORMAT binary)`.
 *
 * Written here because no library does both: pg-copy-streams moves bytes but
 * does not encode rows, pg-copy-streams-binary encodes rows but knows no
 * pgvector type, and the pgvector package only writes the text format, whose
 * floats Postgres parses at ~5 µs each (1–2 ms per 384-d vector in PGlite).
 */

/** One column of a binary COPY row. */
export type CopyField = { int4: number } | { text: string } | { jsonb: string } | { vector: ArrayLike<number> };

const SIGNATURE = [0x50, 0x47, 0x43, 0x4f, 0x50, 0x59, 0x0a, 0xff, 0x0d, 0x0a, 0x00]; // "PGCOPY\n\377\r\n\0"
const encoder = new TextEncoder();
/** jsonb's binary form is a version byte (1) before the JSON text. */
const JSONB_VERSION = 1;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** pgvector's binary form of a vector: int16 dimensions, int16 unused (0), then big-endian float4s. */
export function encodeVector(vector: ArrayLike<number>): Buffer {
  const out = Buffer.allocUnsafe(4 + 4 * vector.length);
  writeVector(out, 0, vector);
  return out;
}

/** Scratch for converting numbers to float4s without allocating per vector (an ArrayBuffer of its own costs ~5 µs). */
let scratch = new Float32Array(1024);

/**
 * A vector's float4s, big-endian, written into `out` at `at`: copied at once
 * and byte-swapped natively, where a DataView write per float cost ~2 µs per
 * 384-d vector, a fifth of PGlite's whole per-row cost on the bulk path.
 */
export function writeFloat4s(out: Buffer, at: number, vector: ArrayLike<number>): number {
  let floats: Float32Array;
  if (vector instanceof Float32Array) floats = vector;
  else {
    if (scratch.length < vector.length) scratch = new Float32Array(vector.length);
    floats = scratch.subarray(0, vector.length);
    floats.set(vector);
  }
  out.set(new Uint8Array(floats.buffer, floats.byteOffset, floats.byteLength), at);
  const end = at + floats.byteLength;
  if (LITTLE_ENDIAN) out.subarray(at, end).swap32();
  return end;
}

/** pgvector's binary form of `vector` written into `out` at `at` (encodeVector without the allocation); returns the end. */
export function writeVector(out: Buffer, at: number, vector: ArrayLike<number>): number {
  out.writeInt16BE(vector.length, at);
  out.writeInt16BE(0, at + 2);
  return writeFloat4s(out, at + 4, vector);
}

/**
 * A binary COPY stream for `rows`, all with the same columns in the same
 * order: the header, each row's fields (an int32 length before each), and
 * the trailer. Sized first and written into one buffer, since a batch is
 * thousands of rows and each piece would otherwise be an allocation.
 */
export function encodeCopyRows(rows: ReadonlyArray<readonly CopyField[]>): Buffer {
  const texts = new Map<string, Uint8Array>();
  const bytesOf = (s: string): Uint8Array => {
    let b = texts.get(s);
    if (!b) texts.set(s, (b = encoder.encode(s)));
    return b;
  };
  let size = SIGNATURE.length + 8 + 2;
  for (const row of rows) {
    size += 2;
    for (const field of row) {
      size += 4;
      if ('int4' in field) size += 4;
      else if ('text' in field) size += bytesOf(field.text).length;
      else if ('jsonb' in field) size += 1 + bytesOf(field.jsonb).length;
      else size += 4 + 4 * field.vector.length;
    }
  }
  const out = Buffer.allocUnsafe(size);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  out.set(SIGNATURE, 0);
  let o = SIGNATURE.length;
  view.setInt32(o, 0); // flags: no OIDs
  view.setInt32(o + 4, 0); // no header extension
  o += 8;
  for (const row of rows) {
    view.setInt16(o, row.length);
    o += 2;
    for (const field of row) {
      if ('int4' in field) {
        view.setInt32(o, 4);
        view.setInt32(o + 4, field.int4);
        o += 8;
      } else if ('text' in field) {
        const bytes = bytesOf(field.text);
        view.setInt32(o, bytes.length);
        out.set(bytes, o + 4);
        o += 4 + bytes.length;
      } else if ('jsonb' in field) {
        const bytes = bytesOf(field.jsonb);
        view.setInt32(o, 1 + bytes.length);
        out[o + 4] = JSONB_VERSION;
        out.set(bytes, o + 5);
        o += 5 + bytes.length;
      } else {
        view.setInt32(o, 4 + 4 * field.vector.length);
        o = writeVector(out, o + 4, field.vector);
      }
    }
  }
  view.setInt16(o, -1);
  return out;
}
