/**
 * Writes `torch.save` checkpoints (the zip format of torch >= 1.6, pickle protocol 2) byte for byte as torch 2.x
 * lays them out, so tests and benchmarks can make SpeechBrain repos without Python: every record STORED under
 * `<stem>/`, the data of each on a 64-byte boundary (padded by an `FB` extra field in the local header, as torch's
 * writer does), CRCs and sizes in data descriptors and the central directory, DOS time and date 0, and the ZIP64
 * end record and locator torch always writes before the classic end record. Nothing depends on the clock or the
 * host, so the same input gives the same bytes.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import type { TorchTensor } from '../../src/formats/torch/types.js';

/** A top-level value: a tensor, or a plain Python number (e.g. InputNormalization's `count`). */
export type TorchEntry = TorchTensor | number;

export interface TorchWriteOptions {
  /** 'ordered' (default): a collections.OrderedDict, as `state_dict()` gives; 'plain': a dict, as SpeechBrain's InputNormalization._save writes. */
  container?: 'ordered' | 'plain';
  /** `state_dict()._metadata` (module prefix → version), set on the OrderedDict by BUILD as torch pickles it. */
  metadata?: ReadonlyMap<string, number>;
  /** `.data/serialization_id`'s text; torch draws it at random, so by default it is a digest of the content. */
  serializationId?: string;
}

const ALIGNMENT = 64;
const LOCAL_HEADER = 30;
const CENTRAL_HEADER = 46;
const DESCRIPTOR = 16;
/** ZIP64 end record (56), its locator (20) and the classic end record (22). */
const END_RECORDS = 56 + 20 + 22;
/** pickle's _BATCHSIZE: SETITEMS carries at most this many pairs. */
const BATCH = 1000;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Writes `entries` as `torch.save(entries)` would, into the archive folder `stem` (torch uses the file's stem). */
export async function writeTorchCheckpoint(path: string, entries: ReadonlyMap<string, TorchEntry>, stem: string, options: TorchWriteOptions = {}): Promise<void> {
  await writeFile(path, torchCheckpointBytes(entries, stem, options));
}

/** The file `writeTorchCheckpoint` writes, in memory. */
export function torchCheckpointBytes(entries: ReadonlyMap<string, TorchEntry>, stem: string, options: TorchWriteOptions = {}): Uint8Array {
  const storages: Uint8Array[] = [];
  const pickle = new Pickler();
  pickle.dict(entries, options, (tensor) => {
    storages.push(littleEndianBytes(tensor));
    return String(storages.length - 1);
  });
  const pkl = pickle.finish();
  const records: Array<[string, Uint8Array]> = [
    ['data.pkl', pkl],
    ['.format_version', text('1')],
    ['.storage_alignment', text(String(ALIGNMENT))],
    ['byteorder', text('little')],
    ...storages.map((data, i): [string, Uint8Array] => [`data/${i}`, data]),
    ['version', text('3\n')],
  ];
  const crcs = records.map(([, data]) => crc32(data));
  records.push(['.data/serialization_id', text(options.serializationId ?? serializationId(pkl, crcs))]);
  crcs.push(crc32(records.at(-1)![1]));
  return zip(records.map(([name, data], i) => ({ name: Buffer.from(`${stem}/${name}`), data, crc: crcs[i]! })));
}

const text = (s: string): Uint8Array => Buffer.from(s, 'utf8');

function serializationId(pkl: Uint8Array, crcs: number[]): string {
  const digest = createHash('sha256').update(pkl).update(Buffer.from(new Uint32Array(crcs).buffer)).digest();
  return Array.from(digest.subarray(0, 20), (b) => String(b % 100).padStart(2, '0')).join('');
}

/** A tensor's values as little-endian bytes: a view on little-endian hosts, a converted copy elsewhere. */
function littleEndianBytes(tensor: TorchTensor): Uint8Array {
  const data = tensor.data;
  if (LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new DataView(new ArrayBuffer(data.byteLength));
  if (data instanceof Float32Array) data.forEach((v, i) => out.setFloat32(i * 4, v, true));
  else data.forEach((v, i) => out.setBigInt64(i * 8, v, true));
  return new Uint8Array(out.buffer);
}

interface ZipRecord {
  name: Buffer;
  data: Uint8Array;
  crc: number;
}

/** Lays the records out in one buffer: local header + padding + data + descriptor each, then the central directory. */
function zip(records: ZipRecord[]): Uint8Array {
  const offsets: number[] = [];
  const pads: number[] = [];
  let cursor = 0;
  for (const r of records) {
    // torch.save's padding rule: the data starts at the next multiple of 64 after the header and a bare FB field.
    const start = cursor + LOCAL_HEADER + r.name.length + 4;
    const pad = (ALIGNMENT - (start % ALIGNMENT)) % ALIGNMENT;
    offsets.push(cursor);
    pads.push(pad);
    cursor = start + pad + r.data.length + DESCRIPTOR;
  }
  const centralOffset = cursor;
  const centralSize = records.reduce((n, r) => n + CENTRAL_HEADER + r.name.length, 0);
  const total = centralOffset + centralSize + END_RECORDS;
  if (centralOffset + centralSize >= 0xffffffff || records.length >= 0xffff) throw new Error(`a ${total}-byte checkpoint needs ZIP64 entry fields, which this writer does not write`);
  const out = Buffer.alloc(total);
  const put = (at: number, ...fields: Array<[value: number, bytes: 2 | 4 | 8]>): number =>
    fields.reduce((to, [value, bytes]) => (bytes === 2 ? out.writeUInt16LE(value, to) : bytes === 4 ? out.writeUInt32LE(value, to) : out.writeBigUInt64LE(BigInt(value), to)), at);
  records.forEach((r, i) => {
    const pad = pads[i]!;
    // Version needed 0 and flags 0808 (data descriptor follows, UTF-8 names) as torch writes them; method 0 (stored),
    // DOS time and date 0, CRC and sizes 0 here because they are in the descriptor.
    let at = put(offsets[i]!, [0x04034b50, 4], [0, 2], [0x0808, 2], [0, 2], [0, 2], [0, 2], [0, 4], [0, 4], [0, 4], [r.name.length, 2], [4 + pad, 2]);
    at += r.name.copy(out, at);
    at = put(at, [0x4246, 2], [pad, 2]); // "FB", then "Z" padding
    out.fill(0x5a, at, at + pad);
    out.set(r.data, at + pad);
    put(at + pad + r.data.length, [0x08074b50, 4], [r.crc, 4], [r.data.length, 4], [r.data.length, 4]);
  });
  let at = centralOffset;
  records.forEach((r, i) => {
    // Made by and needed 0; no extra field, comment or attributes.
    at = put(at, [0x02014b50, 4], [0, 2], [0, 2], [0x0808, 2], [0, 2], [0, 2], [0, 2], [r.crc, 4], [r.data.length, 4], [r.data.length, 4], [r.name.length, 2], [0, 2], [0, 2], [0, 2], [0, 2], [0, 4], [offsets[i]!, 4]);
    at += r.name.copy(out, at);
  });
  const zip64End = at;
  // ZIP64 end record (44 bytes follow its size field; made by UNIX 3.0 and needing 4.5, as miniz writes it), its
  // locator, then the classic end record.
  at = put(at, [0x06064b50, 4], [44, 8], [0x031e, 2], [45, 2], [0, 4], [0, 4], [records.length, 8], [records.length, 8], [centralSize, 8], [centralOffset, 8]);
  at = put(at, [0x07064b50, 4], [0, 4], [zip64End, 8], [1, 4]);
  put(at, [0x06054b50, 4], [0, 2], [0, 2], [records.length, 2], [records.length, 2], [centralSize, 4], [centralOffset, 4], [0, 2]);
  return out;
}

/**
 * Pickle protocol 2, opcode for opcode as CPython's pickler writes a state dict: strings and globals memoized and
 * fetched again with BINGET, tuples of up to three items with TUPLE1..3, ints in the smallest of BININT1, BININT2,
 * BININT or LONG1, dict items in SETITEMS batches of 1000.
 */
class Pickler {
  #bytes = Buffer.alloc(1 << 16);
  #length = 0;
  #memo = new Map<string, number>();
  #nextMemo = 0;

  constructor() {
    this.#op(0x80, 2);
  }

  dict(entries: ReadonlyMap<string, TorchEntry>, options: TorchWriteOptions, storageKey: (tensor: TorchTensor) => string): void {
    if ((options.container ?? 'ordered') === 'ordered') this.#orderedDict();
    else this.#emptyDict();
    this.#items([...entries], (value) => (typeof value === 'number' ? this.#number(value) : this.#tensor(value, storageKey(value))));
    if (options.metadata) {
      // The OrderedDict's __dict__: {'_metadata': OrderedDict(prefix → {'version': n})}.
      this.#emptyDict();
      this.#items([['_metadata', options.metadata]], (metadata) => {
        this.#orderedDict();
        this.#items([...metadata], (version) => {
          this.#emptyDict();
          this.#items([['version', version]], (n) => this.#number(n));
        });
      });
      this.#op(0x62); // BUILD
    }
  }

  finish(): Uint8Array {
    this.#op(0x2e); // STOP
    return this.#bytes.subarray(0, this.#length);
  }

  #tensor(tensor: TorchTensor, key: string): void {
    const count = tensor.shape.reduce((a, b) => a * b, 1);
    if (tensor.data.length !== count) throw new Error(`tensor of shape [${tensor.shape}] holds ${tensor.data.length} values`);
    const strides = tensor.shape.map((_, d) => tensor.shape.slice(d + 1).reduce((a, b) => a * b, 1));
    this.#global('torch._utils', '_rebuild_tensor_v2');
    this.#op(0x28); // MARK: (storage, storage_offset, size, stride, requires_grad, backward_hooks)
    this.#tuple([
      () => this.#string('storage'),
      () => this.#global('torch', tensor.dtype === 'float32' ? 'FloatStorage' : 'LongStorage'),
      () => this.#string(key),
      () => this.#string('cpu'),
      () => this.#number(count),
    ]);
    this.#op(0x51); // BINPERSID
    this.#number(0);
    this.#tuple(tensor.shape.map((n) => () => this.#number(n)));
    this.#tuple(strides.map((n) => () => this.#number(n)));
    this.#op(0x89); // NEWFALSE
    this.#orderedDict();
    this.#op(0x74); // TUPLE
    this.#put();
    this.#op(0x52); // REDUCE
    this.#put();
  }

  #items<V>(items: Array<[string, V]>, value: (v: V) => void): void {
    for (let i = 0; i < items.length; i += BATCH) {
      const batch = items.slice(i, i + BATCH);
      if (batch.length > 1) this.#op(0x28);
      for (const [k, v] of batch) {
        this.#string(k);
        value(v);
      }
      this.#op(batch.length > 1 ? 0x75 : 0x73); // SETITEMS, SETITEM
    }
  }

  #orderedDict(): void {
    this.#global('collections', 'OrderedDict');
    this.#op(0x29, 0x52); // EMPTY_TUPLE, REDUCE
    this.#put();
  }

  #emptyDict(): void {
    this.#op(0x7d);
    this.#put();
  }

  #tuple(items: Array<() => void>): void {
    if (items.length === 0) return this.#op(0x29); // EMPTY_TUPLE, never memoized
    if (items.length > 3) this.#op(0x28);
    for (const item of items) item();
    this.#op(items.length > 3 ? 0x74 : 0x84 + items.length); // TUPLE, or TUPLE1..3 (0x85..0x87)
    this.#put();
  }

  #number(n: number): void {
    if (!Number.isInteger(n)) {
      this.#op(0x47); // BINFLOAT, big-endian
      this.#reserve(8);
      this.#length = this.#bytes.writeDoubleBE(n, this.#length);
    } else if (n >= 0 && n <= 0xff) this.#op(0x4b, n);
    else if (n >= 0 && n <= 0xffff) this.#op(0x4d, n & 0xff, n >>> 8);
    else if (n >= -0x80000000 && n <= 0x7fffffff) {
      this.#op(0x4a);
      this.#reserve(4);
      this.#length = this.#bytes.writeInt32LE(n, this.#length);
    } else {
      // LONG1: the shortest little-endian two's complement that keeps the sign.
      const bytes: number[] = [];
      let v = BigInt(n);
      do {
        bytes.push(Number(v & 0xffn));
        v >>= 8n;
      } while (!((v === 0n && bytes.at(-1)! < 0x80) || (v === -1n && bytes.at(-1)! >= 0x80)));
      this.#op(0x8a, bytes.length, ...bytes);
    }
  }

  #string(s: string): void {
    if (this.#get(`s:${s}`)) return;
    const bytes = Buffer.from(s, 'utf8');
    this.#op(0x58); // BINUNICODE
    this.#reserve(4 + bytes.length);
    this.#length = this.#bytes.writeUInt32LE(bytes.length, this.#length);
    this.#length += bytes.copy(this.#bytes, this.#length);
    this.#memo.set(`s:${s}`, this.#put());
  }

  #global(module: string, name: string): void {
    if (this.#get(`g:${module}.${name}`)) return;
    this.#op(0x63, ...Buffer.from(`${module}\n${name}\n`, 'utf8'));
    this.#memo.set(`g:${module}.${name}`, this.#put());
  }

  /** BINGET (or LONG_BINGET) of a memoized value; false when it is not in the memo yet. */
  #get(key: string): boolean {
    const slot = this.#memo.get(key);
    if (slot === undefined) return false;
    this.#slot(0x68, 0x6a, slot);
    return true;
  }

  /** Memoizes the top of the stack into the next slot, as the pickler does for every object it may meet again. */
  #put(): number {
    const slot = this.#nextMemo++;
    this.#slot(0x71, 0x72, slot);
    return slot;
  }

  /** A memo opcode with a one-byte slot below 256, else its four-byte (LONG_) form. */
  #slot(short: number, long: number, slot: number): void {
    if (slot < 256) this.#op(short, slot);
    else this.#op(long, slot & 0xff, (slot >>> 8) & 0xff, (slot >>> 16) & 0xff, slot >>> 24);
  }

  #op(...bytes: number[]): void {
    this.#reserve(bytes.length);
    for (const b of bytes) this.#bytes[this.#length++] = b;
  }

  #reserve(n: number): void {
    if (this.#length + n <= this.#bytes.length) return;
    const grown = Buffer.alloc(Math.max(this.#bytes.length * 2, this.#length + n));
    this.#bytes.copy(grown, 0, 0, this.#length);
    this.#bytes = grown;
  }
}
