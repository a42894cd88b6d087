/**
 * Deterministic GGUF v3 writer (the file format only; model builders are in gguf-fixtures.ts).
 *
 * Pure node built-ins, so test fixtures are generated on the fly instead of downloaded. Same inputs
 * always produce byte-identical files: metadata is written in the given order, padding is zeros.
 *
 * Layout written (all little-endian):
 *   "GGUF" | u32 version=3 | u64 tensor_count | u64 kv_count
 *   kv pairs: gguf_string key | u32 value_type | value
 *   tensor infos: gguf_string name | u32 n_dims | u64 dims[n_dims] (ne0 first) | u32 ggml_type | u64 offset
 *   zero padding to `general.alignment` (default 32)
 *   tensor data, each tensor starting at an aligned offset relative to the data section start
 */
import { open } from 'node:fs/promises';
import { endianness } from 'node:os';

// ---------------------------------------------------------------------------------------------------------------
// Typed metadata values
// ---------------------------------------------------------------------------------------------------------------

/** GGUF scalar value types, by short name. */
export type GgufScalarType = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32' | 'bool' | 'str' | 'u64' | 'i64' | 'f64';

/** The JS representation of each scalar type: 64-bit integers are bigint, the rest numbers/booleans/strings. */
export interface GgufScalarJs {
  u8: number;
  i8: number;
  u16: number;
  i16: number;
  u32: number;
  i32: number;
  f32: number;
  f64: number;
  u64: bigint;
  i64: bigint;
  bool: boolean;
  str: string;
}

export type GgufScalarValue = { [T in GgufScalarType]: { type: T; value: GgufScalarJs[T] } }[GgufScalarType];
export type GgufArrayValue = { [T in GgufScalarType]: { type: 'arr'; itemType: T; values: readonly GgufScalarJs[T][] } }[GgufScalarType];

/** A typed GGUF metadata value. Build these with the helpers below (`u32(5)`, `str('llama')`, `arr('f32', [...])`...). */
export type GgufValue = GgufScalarValue | GgufArrayValue;

export interface GgufTensor {
  name: string;
  /** ggml order: ne0 (the contiguous / input dimension) first. */
  shape: number[];
  type: 'F32' | 'F16';
  /** Row-major in ggml order: element (i0, i1, ...) lives at i0 + ne0 * (i1 + ne1 * ...). */
  data: Float32Array;
}

export const u8 = (value: number): GgufValue => ({ type: 'u8', value });
export const i8 = (value: number): GgufValue => ({ type: 'i8', value });
export const u16 = (value: number): GgufValue => ({ type: 'u16', value });
export const i16 = (value: number): GgufValue => ({ type: 'i16', value });
export const u32 = (value: number): GgufValue => ({ type: 'u32', value });
export const i32 = (value: number): GgufValue => ({ type: 'i32', value });
export const f32 = (value: number): GgufValue => ({ type: 'f32', value });
export const f64 = (value: number): GgufValue => ({ type: 'f64', value });
export const u64 = (value: number | bigint): GgufValue => ({ type: 'u64', value: BigInt(value) });
export const i64 = (value: number | bigint): GgufValue => ({ type: 'i64', value: BigInt(value) });
export const bool = (value: boolean): GgufValue => ({ type: 'bool', value });
export const str = (value: string): GgufValue => ({ type: 'str', value });
export function arr<T extends GgufScalarType>(itemType: T, values: readonly GgufScalarJs[T][]): GgufValue {
  return { type: 'arr', itemType, values } as GgufArrayValue;
}

/** GGUF on-disk value type ids. */
export const GGUF_VALUE_TYPE = {
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  f32: 6,
  bool: 7,
  str: 8,
  arr: 9,
  u64: 10,
  i64: 11,
  f64: 12,
} as const;

/** ggml tensor type ids for the types this writer supports. */
export const GGML_TYPE = { F32: 0, F16: 1 } as const;

const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
const GGUF_VERSION = 3;
export const DEFAULT_ALIGNMENT = 32;

// ---------------------------------------------------------------------------------------------------------------
// Binary encoding
// ---------------------------------------------------------------------------------------------------------------

/** Growable little-endian byte sink for the header. */
class ByteSink {
  private buf = Buffer.alloc(4096);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }

  u8(v: number): void {
    this.reserve(1);
    this.buf.writeUInt8(v, this.length);
    this.length += 1;
  }
  i8(v: number): void {
    this.reserve(1);
    this.buf.writeInt8(v, this.length);
    this.length += 1;
  }
  u16(v: number): void {
    this.reserve(2);
    this.buf.writeUInt16LE(v, this.length);
    this.length += 2;
  }
  i16(v: number): void {
    this.reserve(2);
    this.buf.writeInt16LE(v, this.length);
    this.length += 2;
  }
  u32(v: number): void {
    this.reserve(4);
    this.buf.writeUInt32LE(v, this.length);
    this.length += 4;
  }
  i32(v: number): void {
    this.reserve(4);
    this.buf.writeInt32LE(v, this.length);
    this.length += 4;
  }
  f32(v: number): void {
    this.reserve(4);
    this.buf.writeFloatLE(v, this.length);
    this.length += 4;
  }
  f64(v: number): void {
    this.reserve(8);
    this.buf.writeDoubleLE(v, this.length);
    this.length += 8;
  }
  u64(v: bigint | number): void {
    this.reserve(8);
    this.buf.writeBigUInt64LE(BigInt(v), this.length);
    this.length += 8;
  }
  i64(v: bigint): void {
    this.reserve(8);
    this.buf.writeBigInt64LE(v, this.length);
    this.length += 8;
  }
  bool(v: boolean): void {
    this.u8(v ? 1 : 0);
  }
  str(v: string): void {
    const bytes = Buffer.from(v, 'utf8');
    this.u64(bytes.length);
    this.reserve(bytes.length);
    bytes.copy(this.buf, this.length);
    this.length += bytes.length;
  }
  zeros(n: number): void {
    this.reserve(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
  }
  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

function checkInt(key: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new RangeError(`GGUF metadata ${key}: ${v} is not an integer in [${min}, ${max}]`);
  }
}

function checkBig(key: string, v: bigint, min: bigint, max: bigint): void {
  if (v < min || v > max) throw new RangeError(`GGUF metadata ${key}: ${v} out of range [${min}, ${max}]`);
}

function writeScalar<T extends GgufScalarType>(sink: ByteSink, key: string, type: T, value: GgufScalarJs[T]): void {
  // The generic ties `value` to `type`, but TS cannot narrow through it, hence the casts per case.
  switch (type) {
    case 'u8':
      checkInt(key, value as number, 0, 0xff);
      return sink.u8(value as number);
    case 'i8':
      checkInt(key, value as number, -0x80, 0x7f);
      return sink.i8(value as number);
    case 'u16':
      checkInt(key, value as number, 0, 0xffff);
      return sink.u16(value as number);
    case 'i16':
      checkInt(key, value as number, -0x8000, 0x7fff);
      return sink.i16(value as number);
    case 'u32':
      checkInt(key, value as number, 0, 0xffffffff);
      return sink.u32(value as number);
    case 'i32':
      checkInt(key, value as number, -0x80000000, 0x7fffffff);
      return sink.i32(value as number);
    case 'f32':
      return sink.f32(value as number);
    case 'f64':
      return sink.f64(value as number);
    case 'u64':
      checkBig(key, value as bigint, 0n, 0xffffffffffffffffn);
      return sink.u64(value as bigint);
    case 'i64':
      checkBig(key, value as bigint, -(1n << 63n), (1n << 63n) - 1n);
      return sink.i64(value as bigint);
    case 'bool':
      return sink.bool(value as boolean);
    case 'str':
      return sink.str(value as string);
    default:
      throw new TypeError(`GGUF metadata ${key}: unknown value type ${String(type)}`);
  }
}

function writeValue(sink: ByteSink, key: string, value: GgufValue): void {
  if (value.type === 'arr') {
    sink.u32(GGUF_VALUE_TYPE.arr);
    sink.u32(GGUF_VALUE_TYPE[value.itemType]);
    sink.u64(value.values.length);
    for (const item of value.values) writeScalar(sink, key, value.itemType, item);
    return;
  }
  sink.u32(GGUF_VALUE_TYPE[value.type]);
  writeScalar(sink, key, value.type, value.value);
}

/** IEEE-754 binary32 bit pattern → binary16 bits, round to nearest, ties to even; handles subnormals, ±inf, NaN. */
function f32BitsToF16Bits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 | (mant >>> 13) : 0); // inf / NaN (kept quiet)
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow → inf
  if (e <= 0) {
    // Result is subnormal (or zero): value = full * 2^(e - 14) half-subnormal units.
    if (e < -10) return sign; // below half of the smallest subnormal → ±0
    const full = mant | 0x800000;
    const shift = 14 - e; // 14..24
    let half = full >>> shift;
    const rem = full & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && (half & 1) !== 0)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) !== 0)) half++; // a carry correctly bumps the exponent (up to inf)
  return sign | half;
}

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

/** float32 → float16 bits (round to nearest even), exported for tests. */
export function float32ToFloat16Bits(value: number): number {
  scratchF32[0] = value;
  return f32BitsToF16Bits(scratchU32[0]!);
}

/** float16 bits → number, exported for tests. */
export function float16BitsToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

const LITTLE_ENDIAN = endianness() === 'LE';

function tensorBytes(t: GgufTensor): Buffer {
  if (!LITTLE_ENDIAN) throw new Error('gguf-writer only supports little-endian hosts');
  if (t.type === 'F32') return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  // Int32 view keeps the bit patterns small integers for V8 (a Uint32Array read above 2^31 boxes a double).
  const bits = new Int32Array(t.data.buffer, t.data.byteOffset, t.data.length);
  const out = new Uint16Array(t.data.length);
  for (let i = 0; i < bits.length; i++) out[i] = f32BitsToF16Bits(bits[i]!);
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

const alignUp = (n: number, alignment: number): number => Math.ceil(n / alignment) * alignment;

/**
 * Writes a GGUF v3 file. Metadata is written in the given order. The data alignment is taken from a
 * `general.alignment` (u32) entry if present, otherwise the GGUF default of 32 is used (without adding the key).
 */
export async function writeGguf(path: string, metadata: Array<[key: string, value: GgufValue]>, tensors: GgufTensor[]): Promise<void> {
  const keys = new Set<string>();
  let alignment = DEFAULT_ALIGNMENT;
  for (const [key, value] of metadata) {
    if (keys.has(key)) throw new Error(`GGUF metadata key ${key} given twice`);
    keys.add(key);
    if (key === 'general.alignment') {
      if (value.type !== 'u32' || value.value <= 0 || (value.value & (value.value - 1)) !== 0) {
        throw new Error('general.alignment must be a u32 power of two');
      }
      alignment = value.value;
    }
  }

  const names = new Set<string>();
  const offsets: number[] = [];
  let dataSize = 0;
  for (const t of tensors) {
    if (names.has(t.name)) throw new Error(`tensor ${t.name} given twice`);
    names.add(t.name);
    if (Buffer.byteLength(t.name) > 63) throw new Error(`tensor name ${t.name} longer than 63 bytes (GGML_MAX_NAME incl. NUL)`);
    if (t.shape.length < 1 || t.shape.length > 4) throw new Error(`tensor ${t.name}: 1..4 dimensions required`);
    let n = 1;
    for (const d of t.shape) {
      if (!Number.isInteger(d) || d <= 0) throw new Error(`tensor ${t.name}: bad dimension ${d}`);
      n *= d;
    }
    if (n !== t.data.length) throw new Error(`tensor ${t.name}: shape [${t.shape.join(', ')}] needs ${n} values, got ${t.data.length}`);
    dataSize = alignUp(dataSize, alignment);
    offsets.push(dataSize);
    dataSize += n * (t.type === 'F32' ? 4 : 2);
  }

  const head = new ByteSink();
  head.u32(GGUF_MAGIC);
  head.u32(GGUF_VERSION);
  head.u64(tensors.length);
  head.u64(metadata.length);
  for (const [key, value] of metadata) {
    head.str(key);
    writeValue(head, key, value);
  }
  tensors.forEach((t, i) => {
    head.str(t.name);
    head.u32(t.shape.length);
    for (const d of t.shape) head.u64(d);
    head.u32(GGML_TYPE[t.type]);
    head.u64(offsets[i]!);
  });
  head.zeros(alignUp(head.length, alignment) - head.length);

  const file = await open(path, 'w');
  try {
    await file.write(head.bytes());
    let pos = 0;
    for (const [i, t] of tensors.entries()) {
      const offset = offsets[i]!;
      if (offset > pos) await file.write(Buffer.alloc(offset - pos));
      const bytes = tensorBytes(t);
      await file.write(bytes);
      pos = offset + bytes.length;
    }
    // Pad the file end too, as gguf writers in llama.cpp do; readers only require the tensors be in bounds.
    const end = alignUp(pos, alignment);
    if (end > pos) await file.write(Buffer.alloc(end - pos));
  } finally {
    await file.close();
  }
}
