/**
 * Reads `torch.save` checkpoints (the zip format of torch >= 1.6) without Python:
 * the zip's `<stem>/data.pkl` through the allow-listed unpickler, tensors as views of
 * the raw little-endian storages in `<stem>/data/<key>`.
 */
import { readFile } from 'node:fs/promises';
import { HearthError, abortError, throwIfAborted, toHearthError } from '../../errors/index.js';
import type { StateDict, TorchTensor, TorchValue } from './types.js';
import { PickleGlobal, PickleOpaque, PickleTuple, pickleRefusal, unpickle, type PickleCallable, type PickleValue } from './unpickle.js';
import { listZipEntries, readZipEntry, type ZipEntry } from './zip-entries.js';

export interface ReadTorchCheckpointOptions {
  signal?: AbortSignal;
}

type Dtype = TorchTensor['dtype'];
type TypedData = TorchTensor['data'];

/** Storage classes we can turn into arrays; any other (Double, Half, ...) is refused at its GLOBAL. */
const STORAGE_TYPES: ReadonlyMap<string, Dtype> = new Map([
  ['torch.FloatStorage', 'float32'],
  ['torch.LongStorage', 'int64'],
]);

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const MAX_DEPTH = 256;

class Storage {
  constructor(
    readonly key: string,
    readonly entry: string,
    readonly dtype: Dtype,
    readonly data: TypedData,
  ) {}
}

/** Views `count` elements when aligned on a little-endian host (the common case); copies otherwise. */
function typedArray(bytes: Uint8Array, dtype: Dtype, count: number): TypedData {
  const width = dtype === 'float32' ? 4 : 8;
  if (LITTLE_ENDIAN) {
    const aligned = bytes.byteOffset % width === 0 ? bytes : bytes.slice(0, count * width);
    return dtype === 'float32' ? new Float32Array(aligned.buffer, aligned.byteOffset, count) : new BigInt64Array(aligned.buffer, aligned.byteOffset, count);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, count * width);
  if (dtype === 'float32') return Float32Array.from({ length: count }, (_, i) => view.getFloat32(i * 4, true));
  return BigInt64Array.from({ length: count }, (_, i) => view.getBigInt64(i * 8, true));
}

function emptyLike(dtype: Dtype, count: number): TypedData {
  return dtype === 'float32' ? new Float32Array(count) : new BigInt64Array(count);
}

/** Copies a strided view out in C order (non-contiguous, e.g. a transposed or expanded tensor). */
function gather(source: TypedData, offset: number, shape: number[], strides: number[], count: number): TypedData {
  const out = emptyLike(source instanceof Float32Array ? 'float32' : 'int64', count);
  const index = new Array<number>(shape.length).fill(0);
  let from = offset;
  for (let i = 0; i < count; i++) {
    out[i] = source[from]!;
    for (let d = shape.length - 1; d >= 0; d--) {
      from += strides[d]!;
      if (++index[d]! < shape[d]!) break;
      from -= strides[d]! * shape[d]!;
      index[d] = 0;
    }
  }
  return out;
}

/** The allow-list: what `data.pkl` of a state_dict may name, and the only functions it can reach. */
function torchGlobals(what: string): ReadonlyMap<string, PickleCallable | null> {
  const refuse = (problem: string, details: Record<string, unknown> = {}): HearthError => pickleRefusal(what, problem, details);
  const nonNegativeInt = (value: PickleValue, field: string): number => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw refuse(`tensor ${field} ${String(value)} is not a non-negative integer`);
    return value;
  };
  const intTuple = (value: PickleValue, field: string): number[] => {
    if (!(value instanceof PickleTuple)) throw refuse(`tensor ${field} is not a tuple`);
    return value.items.map((item) => nonNegativeInt(item, field));
  };

  const orderedDict: PickleCallable = (args) => {
    if (args.length !== 0) throw refuse('collections.OrderedDict is called with arguments; only an empty one is allowed');
    return new Map();
  };

  // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
  const rebuildTensor: PickleCallable = (args) => {
    const [storageValue, offsetValue, sizeValue, strideValue, requiresGrad, hooks] = args;
    const storage = storageValue instanceof PickleOpaque ? storageValue.value : undefined;
    if (args.length < 6 || args.length > 7 || !(storage instanceof Storage)) throw refuse('torch._utils._rebuild_tensor_v2 is called with unexpected arguments');
    if (typeof requiresGrad !== 'boolean' || !(hooks instanceof Map)) throw refuse('torch._utils._rebuild_tensor_v2 gets odd requires_grad or backward_hooks');
    const offset = nonNegativeInt(offsetValue!, 'storage offset');
    const shape = intTuple(sizeValue!, 'size');
    const strides = intTuple(strideValue!, 'stride');
    if (shape.length !== strides.length) throw refuse(`tensor size [${shape}] and stride [${strides}] disagree`);
    const count = shape.reduce((a, b) => a * b, 1);
    if (!Number.isSafeInteger(count)) throw refuse(`tensor size [${shape}] is too large`);
    if (count === 0) return new PickleOpaque({ dtype: storage.dtype, shape, data: emptyLike(storage.dtype, 0) } as TorchTensor);
    const last = offset + shape.reduce((sum, size, d) => sum + (size - 1) * strides[d]!, 0);
    if (last >= storage.data.length) {
      throw refuse(`a tensor of size [${shape}] at offset ${offset} reads past the end of ${storage.entry} (${storage.data.length} elements)`, {
        entry: storage.entry,
        shape,
        stride: strides,
        offset,
      });
    }
    let expected = 1;
    let contiguous = true;
    for (let d = shape.length - 1; d >= 0; d--) {
      if (shape[d] !== 1 && strides[d] !== expected) contiguous = false;
      expected *= shape[d]!;
    }
    // A stride-0 (expanded) view can name far more elements than its file holds; copying it out would let a tiny file exhaust memory.
    if (!contiguous && count > storage.data.length) {
      throw refuse(`a tensor of size [${shape}] with stride [${strides}] repeats elements of ${storage.entry}; expanded tensors are not supported`, { entry: storage.entry, shape, stride: strides });
    }
    const data = contiguous ? storage.data.subarray(offset, offset + count) : gather(storage.data, offset, shape, strides, count);
    return new PickleOpaque({ dtype: storage.dtype, shape, data } as TorchTensor);
  };

  const globals = new Map<string, PickleCallable | null>([
    ['collections.OrderedDict', orderedDict],
    ['torch._utils._rebuild_tensor_v2', rebuildTensor],
  ]);
  for (const name of STORAGE_TYPES.keys()) globals.set(name, null);
  return globals;
}

/** Resolves `('storage', storage_type, key, location, numel)` to a typed view of `<stem>/data/<key>`, once per key. */
function storageLoader(bytes: Uint8Array, entries: Map<string, ZipEntry>, stem: string, what: string): (pid: PickleValue) => PickleValue {
  const loaded = new Map<string, Storage>();
  return (pid) => {
    const [kind, type, key, , numel] = pid instanceof PickleTuple ? pid.items : [];
    if (kind !== 'storage' || !(type instanceof PickleGlobal) || typeof key !== 'string' || typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) {
      throw pickleRefusal(what, 'data.pkl refers to an external object that is not a storage');
    }
    const dtype = STORAGE_TYPES.get(type.qualifiedName);
    if (dtype === undefined) throw pickleRefusal(what, `storage ${key} has type ${type.qualifiedName}, which is not supported`, { global: type.qualifiedName });
    const cached = loaded.get(key);
    if (cached) {
      if (cached.dtype !== dtype) throw pickleRefusal(what, `storage ${key} is used both as ${cached.dtype} and as ${dtype}`, { entry: cached.entry });
      return new PickleOpaque(cached);
    }
    const name = `${stem}/data/${key}`;
    const entry = entries.get(name);
    if (entry === undefined) throw pickleRefusal(what, `storage ${key} has no entry ${name} in the archive`, { entry: name });
    const raw = readZipEntry(bytes, entry, what);
    const width = dtype === 'float32' ? 4 : 8;
    if (raw.length < numel * width) {
      throw pickleRefusal(what, `entry ${name} holds ${raw.length} bytes, too few for ${numel} ${dtype} values`, { entry: name, bytes: raw.length, numel });
    }
    const storage = new Storage(key, name, dtype, typedArray(raw, dtype, numel));
    loaded.set(key, storage);
    return new PickleOpaque(storage);
  };
}

/** Turns the unpickled tree into TorchValues, keeping shared parts shared and refusing cycles or anything not data. */
function toTorchValue(value: PickleValue, what: string, done: Map<object, TorchValue>, depth: number): TorchValue {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof PickleOpaque) {
    const inner = value.value;
    if (inner instanceof Storage) throw pickleRefusal(what, `data.pkl holds bare storage ${inner.key} instead of a tensor`, { entry: inner.entry });
    return inner as TorchTensor;
  }
  if (value instanceof PickleGlobal) throw pickleRefusal(what, `data.pkl holds ${value.qualifiedName} itself as a value`, { global: value.qualifiedName });
  const seen = done.get(value);
  if (seen !== undefined) return seen;
  if (depth > MAX_DEPTH) throw pickleRefusal(what, `data.pkl nests deeper than ${MAX_DEPTH} levels (or refers to itself)`);
  if (value instanceof Map) {
    const out = new Map<string, TorchValue>();
    for (const [key, item] of value) {
      if (typeof key !== 'string') throw pickleRefusal(what, `data.pkl has a dict key ${String(key)} that is not a string`);
      out.set(key, toTorchValue(item, what, done, depth + 1));
    }
    done.set(value, out);
    return out;
  }
  const out = (value instanceof PickleTuple ? value.items : value).map((item) => toTorchValue(item, what, done, depth + 1));
  done.set(value, out);
  return out;
}

function parse(bytes: Uint8Array, what: string): StateDict {
  // Pre-1.6 torch.save wrote a bare pickle stream, which starts with PROTO where a zip starts with "PK".
  if (bytes[0] === 0x80) throw pickleRefusal(what, 'is a legacy (pre-zip, torch < 1.6) torch.save file, which is not supported');
  const list = listZipEntries(bytes, what);
  const entries = new Map(list.map((entry) => [entry.name, entry]));
  // Like torch's own reader, the archive's folder is the first entry's.
  const stem = list[0]?.name.split('/')[0] ?? '';
  const pickle = entries.get(`${stem}/data.pkl`);
  if (pickle === undefined) throw pickleRefusal(what, `zip archive has no ${stem}/data.pkl record, so it is not a torch.save checkpoint`, { entry: `${stem}/data.pkl` });
  const byteorder = entries.get(`${stem}/byteorder`);
  if (byteorder !== undefined) {
    const order = new TextDecoder().decode(readZipEntry(bytes, byteorder, what)).trim();
    if (order !== 'little') throw pickleRefusal(what, `storages are stored ${order}-endian; only little-endian is supported`, { byteorder: order });
  }
  const value = unpickle(readZipEntry(bytes, pickle, what), {
    what,
    globals: torchGlobals(what),
    persistentLoad: storageLoader(bytes, entries, stem, what),
  });
  const result = toTorchValue(value, what, new Map(), 0);
  if (!(result instanceof Map)) throw pickleRefusal(what, 'data.pkl holds a single value, not a dict of tensors');
  return result;
}

/** Parses checkpoint bytes already in memory; tensors are views of `bytes` where aligned, so they keep it alive. */
export function parseTorchCheckpoint(bytes: Uint8Array, what: string): StateDict {
  try {
    return parse(bytes, what);
  } catch (error) {
    if (error instanceof HearthError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new HearthError('MODEL_UNSUPPORTED', `${what}: cannot be read as a torch.save checkpoint: ${reason}`, { cause: error, details: { file: what } });
  }
}

/** Reads a `torch.save` checkpoint file (one read into memory) into its top-level mapping, in file order. */
export async function readTorchCheckpoint(path: string, options: ReadTorchCheckpointOptions = {}): Promise<StateDict> {
  const { signal } = options;
  throwIfAborted(signal);
  let bytes: Buffer;
  try {
    bytes = await readFile(path, { signal });
  } catch (error) {
    if (signal?.aborted) throw abortError(signal);
    throw toHearthError(error);
  }
  throwIfAborted(signal);
  return parseTorchCheckpoint(bytes, path);
}
