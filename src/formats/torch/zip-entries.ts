/**
 * The entries of a zip archive held in memory, as zero-copy views.
 * Written by hand rather than with yauzl or adm-zip: torch.save stores every entry
 * uncompressed, and we want subarray views of one read of the file, not streams or copies.
 */
import { HearthError } from '../../errors/index.js';

export interface ZipEntry {
  name: string;
  /** 0 = stored; anything else is refused by readZipEntry. */
  method: number;
  /** Bytes of data as the central directory says (compressed size; equal to the size when stored). */
  size: number;
  /** Where the local file header starts. */
  headerOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX16 = 0xffff;
const MAX32 = 0xffffffff;

function refuse(what: string, problem: string, details: Record<string, unknown> = {}): HearthError {
  return new HearthError('MODEL_UNSUPPORTED', `${what}: ${problem}`, { details: { file: what, ...details } });
}

/** Bounds-checked little-endian reads; a read past the end means a truncated or malformed archive. */
class Reader {
  private readonly view: DataView;
  constructor(
    readonly bytes: Uint8Array,
    private readonly what: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  check(offset: number, length: number, part: string): void {
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + length > this.bytes.length) {
      throw refuse(this.what, `not a complete zip archive (${part} lies outside the file's ${this.bytes.length} bytes)`, { part, offset });
    }
  }
  u16(offset: number): number {
    this.check(offset, 2, 'a field');
    return this.view.getUint16(offset, true);
  }
  u32(offset: number): number {
    this.check(offset, 4, 'a field');
    return this.view.getUint32(offset, true);
  }
  u64(offset: number): number {
    this.check(offset, 8, 'a field');
    const value = this.view.getBigUint64(offset, true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw refuse(this.what, `zip field of ${value} is too large`, { offset });
    return Number(value);
  }
}

/** Where the central directory is and how many entries it holds, ZIP64 or not. */
function findCentralDirectory(zip: Reader, what: string): { offset: number; count: number } {
  const bytes = zip.bytes;
  // The end record is 22 bytes plus a comment of up to 65535 bytes, so scan back that far at most.
  let eocd = -1;
  for (let at = bytes.length - 22; at >= Math.max(0, bytes.length - 22 - MAX16); at--) {
    if (bytes[at] === 0x50 && zip.u32(at) === EOCD) {
      eocd = at;
      break;
    }
  }
  if (eocd < 0) throw refuse(what, 'not a zip archive (no end-of-central-directory record; truncated, or not a torch.save file)');
  let count = zip.u16(eocd + 10);
  let offset = zip.u32(eocd + 16);
  if (eocd >= 20 && zip.u32(eocd - 20) === ZIP64_LOCATOR) {
    const record = zip.u64(eocd - 20 + 8);
    if (zip.u32(record) !== ZIP64_EOCD) throw refuse(what, 'zip64 end record is missing where its locator points', { offset: record });
    count = zip.u64(record + 32);
    offset = zip.u64(record + 48);
  } else if (count === MAX16 || offset === MAX32) {
    throw refuse(what, 'zip archive needs a zip64 end record but has none');
  }
  return { offset, count };
}

/** Reads the central directory: the only place torch.save's sizes are right (its local headers say 0). */
export function listZipEntries(bytes: Uint8Array, what: string): ZipEntry[] {
  const zip = new Reader(bytes, what);
  const { offset, count } = findCentralDirectory(zip, what);
  const entries: ZipEntry[] = [];
  const seen = new Set<string>();
  let at = offset;
  for (let i = 0; i < count; i++) {
    if (zip.u32(at) !== CENTRAL) throw refuse(what, `zip central directory entry ${i} is corrupt`, { offset: at });
    const flags = zip.u16(at + 8);
    const method = zip.u16(at + 10);
    let size = zip.u32(at + 20);
    const uncompressed = zip.u32(at + 24);
    const nameLength = zip.u16(at + 28);
    const extraLength = zip.u16(at + 30);
    const commentLength = zip.u16(at + 32);
    let headerOffset = zip.u32(at + 42);
    zip.check(at + 46, nameLength + extraLength + commentLength, `central directory entry ${i}`);
    const name = new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLength));
    // The zip64 extra field holds, in this order, only the fields whose 32-bit slot is saturated.
    let extra = at + 46 + nameLength;
    const extraEnd = extra + extraLength;
    while (extra + 4 <= extraEnd) {
      const id = zip.u16(extra);
      const length = zip.u16(extra + 2);
      if (id === 0x0001) {
        const fields: number[] = [];
        for (let field = extra + 4; field + 8 <= Math.min(extra + 4 + length, extraEnd); field += 8) fields.push(zip.u64(field));
        if (uncompressed === MAX32) fields.shift();
        if (size === MAX32) size = fields.shift() ?? MAX32;
        if (headerOffset === MAX32) headerOffset = fields.shift() ?? MAX32;
      }
      extra += 4 + length;
    }
    if (size === MAX32 || headerOffset === MAX32) throw refuse(what, `zip entry ${name} lacks its zip64 sizes`, { entry: name });
    if (flags & 1) throw refuse(what, `zip entry ${name} is encrypted`, { entry: name });
    if (seen.has(name)) throw refuse(what, `zip entry ${name} appears twice`, { entry: name });
    seen.add(name);
    entries.push({ name, method, size, headerOffset });
    at = extraEnd + commentLength;
  }
  return entries;
}

/** A view of a stored entry's bytes; the data starts after the LOCAL header, whose extra field can differ from the central one. */
export function readZipEntry(bytes: Uint8Array, entry: ZipEntry, what: string): Uint8Array {
  if (entry.method !== 0) {
    throw refuse(what, `zip entry ${entry.name} is compressed (method ${entry.method}); torch.save stores entries uncompressed`, { entry: entry.name, method: entry.method });
  }
  const zip = new Reader(bytes, what);
  if (zip.u32(entry.headerOffset) !== LOCAL) throw refuse(what, `zip entry ${entry.name} has no local header`, { entry: entry.name });
  const start = entry.headerOffset + 30 + zip.u16(entry.headerOffset + 26) + zip.u16(entry.headerOffset + 28);
  zip.check(start, entry.size, `entry ${entry.name}`);
  return bytes.subarray(start, start + entry.size);
}
