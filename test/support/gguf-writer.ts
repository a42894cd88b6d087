/**
 * Deterministic GGUF v3 writer plus builders for tiny, real, loadable models (llama decoder + bert encoder).
 *
 * Everything here is pure node built-ins so test fixtures can be generated on the fly instead of downloaded.
 * Same inputs always produce byte-identical files: weights come from a seeded PRNG (mulberry32, seeded per tensor
 * from the fixture seed and the tensor name), metadata is written in the given order, padding is zeros.
 *
 * Layout written (all little-endian):
 *   "GGUF" | u32 version=3 | u64 tensor_count | u64 kv_count
 *   kv pairs: gguf_string key | u32 value_type | value
 *   tensor infos: gguf_string name | u32 n_dims | u64 dims[n_dims] (ne0 first) | u32 ggml_type | u64 offset
 *   zero padding to `general.alignment` (default 32)
 *   tensor data, each tensor starting at an aligned offset relative to the data section start
 */
import { createHash } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
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
const DEFAULT_ALIGNMENT = 32;

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

// ---------------------------------------------------------------------------------------------------------------
// Deterministic weights
// ---------------------------------------------------------------------------------------------------------------

/** FNV-1a 32-bit, used to derive a per-tensor PRNG seed from the fixture seed and the tensor name. */
function fnv1a(s: string, h = 0x811c9dc5): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

class TensorFactory {
  readonly tensors: GgufTensor[] = [];
  constructor(
    private readonly seed: number,
    private readonly type: 'F32' | 'F16',
    private readonly scale = 0.05,
  ) {}

  /**
   * Uniform(-scale, scale) weights. Matrices use the fixture type; vectors, and matrices passed `forceF32`, stay F32
   * as llama.cpp's converter does (ggml's CPU add has no f32 + f16 kernel, so e.g. BERT's token_types, which is added
   * as a raw view, aborts the process when stored in F16).
   */
  random(name: string, shape: number[], forceF32 = false): Float32Array {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    // mulberry32 inlined (this loop generates tens of millions of values for the benchmark-sized fixture).
    let a = fnv1a(name, fnv1a(String(this.seed)));
    const k = (2 * this.scale) / 4294967296;
    for (let i = 0; i < data.length; i++) {
      a = (a + 0x6d2b79f5) | 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      data[i] = ((t ^ (t >>> 14)) >>> 0) * k - this.scale;
    }
    this.add(name, shape, data, forceF32);
    return data;
  }

  constant(name: string, shape: number[], value: number): void {
    this.add(name, shape, new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(value));
  }

  private add(name: string, shape: number[], data: Float32Array, forceF32 = false): void {
    this.tensors.push({ name, shape, type: shape.length > 1 && !forceF32 ? this.type : 'F32', data });
  }
}

export interface FixtureResult {
  path: string;
  sha256: string;
  bytes: number;
  vocabSize: number;
}

async function finish(path: string, metadata: Array<[string, GgufValue]>, tensors: GgufTensor[], vocabSize: number): Promise<FixtureResult> {
  await writeGguf(path, metadata, tensors);
  const contents = await readFile(path);
  return { path, sha256: createHash('sha256').update(contents).digest('hex'), bytes: contents.length, vocabSize };
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  return v;
}

// ---------------------------------------------------------------------------------------------------------------
// Vocabularies
// ---------------------------------------------------------------------------------------------------------------

/** A few hundred common English words (lowercase, ASCII), ordered roughly by frequency. */
const COMMON_WORDS = (
  'the of and to a in is it you that he was for on are with as his they be at one have this from or had by ' +
  'not word but what some we can out other were all there when up use your how said an each she which do their ' +
  'time if will way about many then them write would like so these her long make thing see him two has look more ' +
  'day could go come did number sound no most people my over know water than call first who may down side been now ' +
  'find any new work part take get place made live where after back little only round man year came show every good ' +
  'me give our under name very through just form sentence great think say help low line differ turn cause much mean ' +
  'before move right boy old too same tell does set three want air well also play small end put home read hand port ' +
  'large spell add even land here must big high such follow act why ask men change went light kind off need house ' +
  'picture try us again animal point mother world near build self earth father head stand own page should country ' +
  'found answer school grow study still learn plant cover food sun four between state keep eye never last let thought ' +
  'city tree cross farm hard start might story saw far sea draw left late run while press close night real life few ' +
  'north open seem together next white children begin got walk example ease paper group always music those both mark ' +
  'often letter until mile river car feet care second book carry took science eat room friend began idea fish ' +
  'mountain stop once base hear horse cut sure watch color face wood main enough plain girl usual young ready above ' +
  'ever red list though feel talk bird soon body dog family direct pose leave song measure door product black short ' +
  'numeral class wind question happen complete ship area half rock order fire south problem piece told knew pass since ' +
  'top whole king space heard best hour better true during hundred five remember step early hold west ground interest ' +
  'reach fast verb sing listen six table travel less morning ten simple several toward war lay against pattern slow ' +
  'center love person money serve appear road map rain rule govern pull cold notice voice unit power town fine ' +
  'certain fly fall lead cry dark machine note wait plan figure star box noun field rest correct able pound done ' +
  'beauty drive stood contain front teach week final gave green oh quick develop ocean warm free minute strong special ' +
  'mind behind clear tail produce fact street inch cat sat mat upon hat dot hello world model test token quiet ' +
  'brown fox jumps lazy'
)
  .split(' ')
  .filter((w) => w.length > 0);

const LETTERS = 'abcdefghijklmnopqrstuvwxyz'.split('');
const DIGITS = '0123456789'.split('');
/** ASCII punctuation and symbols; BERT's pre-tokenizer splits each of these into its own word. */
const PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'.split('');
/** Common subword continuations (stored without the `##` marker, as llama.cpp's converter does). */
const SUFFIXES = ['s', 'es', 'ed', 'ing', 'er', 'ly', 'est', 'ion', 'ness', 'ment', 'able', 'al', 'ful', 'less', 'y', 'en'];

const SP = '\u2581'; // SentencePiece / WPM word-start marker "▁"

/** Token types as stored in tokenizer.ggml.token_type. */
const TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

class VocabBuilder {
  readonly tokens: string[] = [];
  readonly types: number[] = [];
  private readonly seen = new Set<string>();

  add(token: string, type: number): number {
    if (this.seen.has(token)) return this.tokens.indexOf(token);
    this.seen.add(token);
    this.tokens.push(token);
    this.types.push(type);
    return this.tokens.length - 1;
  }
}

export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

interface LlamaVocab {
  tokens: string[];
  scores: number[];
  types: number[];
  /** Ids of tokens that are never meant to be generated (specials, byte fallback). */
  nonText: number[];
  imStart: number;
  imEnd: number;
}

/**
 * SentencePiece (llama) vocab: <unk> <s> </s>, the 256 byte-fallback tokens, "▁", then word pieces with descending
 * scores, then the ChatML control tokens. SPM tokenization in llama.cpp merges adjacent symbols pairwise and only
 * keeps a merge whose text is itself a token, so every prefix of a word piece is added too (▁t, ▁th, ▁the) — otherwise
 * whole words could never be reached. Any text still tokenizes via byte fallback.
 */
function buildLlamaVocab(): LlamaVocab {
  const v = new VocabBuilder();
  const nonText: number[] = [];
  nonText.push(v.add('<unk>', TOKEN_TYPE.unknown));
  nonText.push(v.add('<s>', TOKEN_TYPE.control));
  nonText.push(v.add('</s>', TOKEN_TYPE.control));
  for (let b = 0; b < 256; b++) {
    nonText.push(v.add(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, TOKEN_TYPE.byte));
  }
  const firstPiece = v.tokens.length;
  v.add(SP, TOKEN_TYPE.normal);
  for (const c of [...LETTERS, ...DIGITS]) v.add(SP + c, TOKEN_TYPE.normal);
  for (const c of [...LETTERS, ...DIGITS, ...PUNCTUATION]) v.add(c, TOKEN_TYPE.normal);
  for (const w of COMMON_WORDS) {
    const piece = SP + w;
    for (let k = 2; k <= piece.length; k++) v.add(piece.slice(0, k), TOKEN_TYPE.normal);
  }
  for (const s of SUFFIXES) for (let k = 1; k <= s.length; k++) v.add(s.slice(0, k), TOKEN_TYPE.normal);
  const lastPiece = v.tokens.length;
  const imStart = v.add('<|im_start|>', TOKEN_TYPE.control);
  const imEnd = v.add('<|im_end|>', TOKEN_TYPE.control);
  nonText.push(imStart, imEnd);
  const scores = v.tokens.map((_, id) => (id >= firstPiece && id < lastPiece ? -(id - firstPiece) : 0));
  return { tokens: v.tokens, scores, types: v.types, nonText, imStart, imEnd };
}

interface BertVocab {
  tokens: string[];
  types: number[];
  pad: number;
  unk: number;
  cls: number;
  sep: number;
  mask: number;
}

/**
 * WordPiece (bert) vocab in llama.cpp's GGUF convention: word-initial pieces carry the "▁" phantom-space prefix and
 * continuation pieces ("##ing" in HF vocab.txt) are stored bare ("ing"); that is what convert_hf_to_gguf.py writes and
 * what llama.cpp's WPM tokenizer matches against. Single letters/digits in both forms plus punctuation make any
 * lowercase ASCII text tokenize without [UNK].
 */
function buildBertVocab(): BertVocab {
  const v = new VocabBuilder();
  const pad = v.add('[PAD]', TOKEN_TYPE.control);
  const unk = v.add('[UNK]', TOKEN_TYPE.unknown);
  const cls = v.add('[CLS]', TOKEN_TYPE.control);
  const sep = v.add('[SEP]', TOKEN_TYPE.control);
  const mask = v.add('[MASK]', TOKEN_TYPE.control);
  for (const w of COMMON_WORDS) v.add(SP + w, TOKEN_TYPE.normal);
  for (const c of [...LETTERS, ...DIGITS, ...PUNCTUATION]) v.add(SP + c, TOKEN_TYPE.normal);
  for (const c of [...LETTERS, ...DIGITS]) v.add(c, TOKEN_TYPE.normal);
  for (const s of SUFFIXES) v.add(s, TOKEN_TYPE.normal);
  return { tokens: v.tokens, types: v.types, pad, unk, cls, sep, mask };
}

// ---------------------------------------------------------------------------------------------------------------
// llama fixture
// ---------------------------------------------------------------------------------------------------------------

export interface LlamaFixtureOptions {
  layers?: number /* 2 */;
  embd?: number /* 64 */;
  ff?: number /* 128 */;
  heads?: number /* 4 */;
  headsKv?: number /* 2 */;
  context?: number /* 512 */;
  seed?: number /* 1 */;
  type?: 'F32' | 'F16' /* F32 */;
  name?: string;
}

/**
 * A tiny random-weight llama (SentencePiece vocab, ChatML chat template). Output-projection rows of the special and
 * byte-fallback tokens are zero, so their logits are exactly 0 while real word pieces get random logits: greedy
 * decoding therefore never emits EOS/<|im_end|> and always runs to maxTokens, producing word-piece gibberish.
 */
export async function writeLlamaFixture(path: string, options: LlamaFixtureOptions = {}): Promise<FixtureResult> {
  const layers = positiveInt('layers', options.layers ?? 2);
  const embd = positiveInt('embd', options.embd ?? 64);
  const ff = positiveInt('ff', options.ff ?? 128);
  const heads = positiveInt('heads', options.heads ?? 4);
  const headsKv = positiveInt('headsKv', options.headsKv ?? 2);
  const context = positiveInt('context', options.context ?? 512);
  const seed = options.seed ?? 1;
  const type = options.type ?? 'F32';
  if (embd % heads !== 0) throw new RangeError(`embd (${embd}) must be divisible by heads (${heads})`);
  if (heads % headsKv !== 0) throw new RangeError(`heads (${heads}) must be divisible by headsKv (${headsKv})`);
  const headDim = embd / heads;
  if (headDim % 2 !== 0) throw new RangeError(`head dimension (${headDim}) must be even for RoPE`);
  const kvDim = headDim * headsKv;

  const vocab = buildLlamaVocab();
  const nVocab = vocab.tokens.length;

  const metadata: Array<[string, GgufValue]> = [
    ['general.architecture', str('llama')],
    ['general.name', str(options.name ?? 'hearth-test-llama')],
    ['general.file_type', u32(type === 'F32' ? 0 : 1)],
    ['general.alignment', u32(DEFAULT_ALIGNMENT)],
    ['llama.context_length', u32(context)],
    ['llama.embedding_length', u32(embd)],
    ['llama.block_count', u32(layers)],
    ['llama.feed_forward_length', u32(ff)],
    ['llama.attention.head_count', u32(heads)],
    ['llama.attention.head_count_kv', u32(headsKv)],
    ['llama.rope.dimension_count', u32(headDim)],
    ['llama.rope.freq_base', f32(10000)],
    ['llama.attention.layer_norm_rms_epsilon', f32(1e-5)],
    ['llama.vocab_size', u32(nVocab)],
    ['tokenizer.ggml.model', str('llama')],
    ['tokenizer.ggml.tokens', arr('str', vocab.tokens)],
    ['tokenizer.ggml.scores', arr('f32', vocab.scores)],
    ['tokenizer.ggml.token_type', arr('i32', vocab.types)],
    ['tokenizer.ggml.bos_token_id', u32(1)],
    ['tokenizer.ggml.eos_token_id', u32(2)],
    ['tokenizer.ggml.unknown_token_id', u32(0)],
    ['tokenizer.ggml.add_bos_token', bool(true)],
    ['tokenizer.ggml.add_eos_token', bool(false)],
    ['tokenizer.chat_template', str(CHATML_TEMPLATE)],
  ];

  const f = new TensorFactory(seed, type);
  f.random('token_embd.weight', [embd, nVocab]);
  f.constant('output_norm.weight', [embd], 1);
  const output = f.random('output.weight', [embd, nVocab]);
  for (const id of vocab.nonText) output.fill(0, id * embd, (id + 1) * embd);
  for (let i = 0; i < layers; i++) {
    f.constant(`blk.${i}.attn_norm.weight`, [embd], 1);
    f.random(`blk.${i}.attn_q.weight`, [embd, embd]);
    f.random(`blk.${i}.attn_k.weight`, [embd, kvDim]);
    f.random(`blk.${i}.attn_v.weight`, [embd, kvDim]);
    f.random(`blk.${i}.attn_output.weight`, [embd, embd]);
    f.constant(`blk.${i}.ffn_norm.weight`, [embd], 1);
    f.random(`blk.${i}.ffn_gate.weight`, [embd, ff]);
    f.random(`blk.${i}.ffn_up.weight`, [embd, ff]);
    f.random(`blk.${i}.ffn_down.weight`, [ff, embd]);
  }
  return finish(path, metadata, f.tensors, nVocab);
}

// ---------------------------------------------------------------------------------------------------------------
// bert fixture
// ---------------------------------------------------------------------------------------------------------------

export interface BertFixtureOptions {
  layers?: number /* 2 */;
  embd?: number /* 64 */;
  ff?: number /* 128 */;
  heads?: number /* 4 */;
  context?: number /* 128 */;
  seed?: number;
  pooling?: 'mean' | 'cls' /* mean */;
  type?: 'F32' | 'F16';
  name?: string;
}

/** A tiny random-weight BERT encoder (WordPiece vocab) for embedding tests. */
export async function writeBertFixture(path: string, options: BertFixtureOptions = {}): Promise<FixtureResult> {
  const layers = positiveInt('layers', options.layers ?? 2);
  const embd = positiveInt('embd', options.embd ?? 64);
  const ff = positiveInt('ff', options.ff ?? 128);
  const heads = positiveInt('heads', options.heads ?? 4);
  const context = positiveInt('context', options.context ?? 128);
  const seed = options.seed ?? 1;
  const type = options.type ?? 'F32';
  const pooling = options.pooling ?? 'mean';
  if (embd % heads !== 0) throw new RangeError(`embd (${embd}) must be divisible by heads (${heads})`);

  const vocab = buildBertVocab();
  const nVocab = vocab.tokens.length;

  const metadata: Array<[string, GgufValue]> = [
    ['general.architecture', str('bert')],
    ['general.name', str(options.name ?? 'hearth-test-bert')],
    ['general.file_type', u32(type === 'F32' ? 0 : 1)],
    ['general.alignment', u32(DEFAULT_ALIGNMENT)],
    ['bert.context_length', u32(context)],
    ['bert.embedding_length', u32(embd)],
    ['bert.block_count', u32(layers)],
    ['bert.feed_forward_length', u32(ff)],
    ['bert.attention.head_count', u32(heads)],
    ['bert.attention.layer_norm_epsilon', f32(1e-12)],
    ['bert.attention.causal', bool(false)],
    ['bert.pooling_type', u32(pooling === 'mean' ? 1 : 2)],
    ['tokenizer.ggml.model', str('bert')],
    ['tokenizer.ggml.tokens', arr('str', vocab.tokens)],
    ['tokenizer.ggml.token_type', arr('i32', vocab.types)],
    ['tokenizer.ggml.token_type_count', u32(2)],
    ['tokenizer.ggml.bos_token_id', u32(vocab.cls)],
    ['tokenizer.ggml.eos_token_id', u32(vocab.sep)],
    ['tokenizer.ggml.cls_token_id', u32(vocab.cls)],
    ['tokenizer.ggml.seperator_token_id', u32(vocab.sep)], // sic: llama.cpp's key is spelled "seperator"
    ['tokenizer.ggml.padding_token_id', u32(vocab.pad)],
    ['tokenizer.ggml.unknown_token_id', u32(vocab.unk)],
    ['tokenizer.ggml.mask_token_id', u32(vocab.mask)],
    // llama.cpp's WPM tokenizer ignores this, but detokenize uses it to strip the leading phantom space, so that
    // tokenize → detokenize round-trips cleanly (node-llama-cpp warns about the model at load time otherwise).
    ['tokenizer.ggml.add_space_prefix', bool(true)],
  ];

  const f = new TensorFactory(seed, type);
  f.random('token_embd.weight', [embd, nVocab]);
  f.random('token_types.weight', [embd, 2], true);
  f.random('position_embd.weight', [embd, context], true);
  f.constant('token_embd_norm.weight', [embd], 1);
  f.constant('token_embd_norm.bias', [embd], 0);
  for (let i = 0; i < layers; i++) {
    for (const proj of ['attn_q', 'attn_k', 'attn_v', 'attn_output']) {
      f.random(`blk.${i}.${proj}.weight`, [embd, embd]);
      f.constant(`blk.${i}.${proj}.bias`, [embd], 0);
    }
    f.constant(`blk.${i}.attn_output_norm.weight`, [embd], 1);
    f.constant(`blk.${i}.attn_output_norm.bias`, [embd], 0);
    f.random(`blk.${i}.ffn_up.weight`, [embd, ff]);
    f.constant(`blk.${i}.ffn_up.bias`, [ff], 0);
    f.random(`blk.${i}.ffn_down.weight`, [ff, embd]);
    f.constant(`blk.${i}.ffn_down.bias`, [embd], 0);
    f.constant(`blk.${i}.layer_output_norm.weight`, [embd], 1);
    f.constant(`blk.${i}.layer_output_norm.bias`, [embd], 0);
  }
  return finish(path, metadata, f.tensors, nVocab);
}
