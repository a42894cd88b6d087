import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTorchTensor, listZipEntries, parseTorchCheckpoint, readTorchCheckpoint, readZipEntry, type StateDict, type TorchTensor } from '../../src/formats/torch/index.js';
import { ECAPA_DIR, ECAPA_SKIP } from '../support/ecapa-reference.js';

// ---- hand-built pickles (protocol 2, as torch.save writes them) ----
type Ops = number[];
const u16 = (n: number): Ops => [n & 255, (n >>> 8) & 255];
const u32 = (n: number): Ops => [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255];
const u64 = (n: number): Ops => [...u32(n % 2 ** 32), ...u32(Math.floor(n / 2 ** 32))];
const str = (s: string): Ops => [0x58, ...u32(Buffer.byteLength(s)), ...Buffer.from(s)];
const int = (n: number): Ops => (n < 256 ? [0x4b, n] : [0x4a, ...u32(n)]);
const global = (module: string, name: string): Ops => [0x63, ...Buffer.from(`${module}\n${name}\n`)];
const tuple = (...items: Ops[]): Ops => [0x28, ...items.flat(), 0x74];
const orderedDict: Ops = [...global('collections', 'OrderedDict'), 0x29, 0x52];
const dict = (entries: [string, Ops][]): Ops => [0x7d, 0x28, ...entries.flatMap(([key, value]) => [...str(key), ...value]), 0x75];
const pickle = (body: Ops): Uint8Array => new Uint8Array([0x80, 2, ...body, 0x2e]);

function tensor(key: string, storageType: string, numel: number, offset: number, size: number[], stride: number[]): Ops {
  const pid = tuple(str('storage'), global('torch', storageType), str(key), str('cpu'), int(numel));
  return [...global('torch._utils', '_rebuild_tensor_v2'), ...tuple([...pid, 0x51], int(offset), tuple(...size.map(int)), tuple(...stride.map(int)), [0x89], orderedDict), 0x52];
}

const floats = (...values: number[]): Uint8Array => new Uint8Array(new Float32Array(values).buffer);
const longs = (...values: bigint[]): Uint8Array => new Uint8Array(new BigInt64Array(values).buffer);

// ---- hand-built zips laid out like torch.save's: stored, sizes only in the central directory, 64-byte aligned data ----
interface ZipOptions {
  /** Sizes and offsets through the zip64 extra field rather than the 32-bit slots. */
  zip64Entries?: boolean;
  /** A classic end record only, as small archives from other writers have. */
  noZip64End?: boolean;
  method?: number;
}

function torchZip(stem: string, files: [string, Uint8Array][], options: ZipOptions = {}): Uint8Array {
  const out: number[] = [];
  const central: number[] = [];
  const method = options.method ?? 0;
  const big = options.zip64Entries === true;
  for (const [name, data] of files) {
    const full = Buffer.from(`${stem}/${name}`);
    const offset = out.length;
    const pad = (64 - ((offset + 30 + full.length + 4) % 64)) % 64;
    // The local extra field (alignment padding) differs from the central one, as in torch's files.
    out.push(...u32(0x04034b50), ...u16(45), ...u16(8), ...u16(method), ...u32(0), ...u32(0), ...u32(0), ...u32(0));
    out.push(...u16(full.length), ...u16(4 + pad), ...full, ...u16(0x4246), ...u16(pad), ...new Array<number>(pad).fill(0x5a));
    out.push(...data, ...u32(0x08074b50), ...u32(0), ...u32(data.length), ...u32(data.length));
    const max = 0xffffffff;
    central.push(...u32(0x02014b50), ...u16(45), ...u16(45), ...u16(8), ...u16(method), ...u32(0), ...u32(0));
    central.push(...u32(big ? max : data.length), ...u32(big ? max : data.length), ...u16(full.length), ...u16(big ? 28 : 0));
    central.push(...u16(0), ...u16(0), ...u16(0), ...u32(0), ...u32(big ? max : offset), ...full);
    if (big) central.push(...u16(1), ...u16(24), ...u64(data.length), ...u64(data.length), ...u64(offset));
  }
  const cdOffset = out.length;
  out.push(...central);
  const n = files.length;
  if (options.noZip64End) {
    out.push(...u32(0x06054b50), ...u32(0), ...u16(n), ...u16(n), ...u32(central.length), ...u32(cdOffset), ...u16(0));
  } else {
    const record = out.length;
    out.push(...u32(0x06064b50), ...u64(44), ...u16(45), ...u16(45), ...u32(0), ...u32(0), ...u64(n), ...u64(n), ...u64(central.length), ...u64(cdOffset));
    out.push(...u32(0x07064b50), ...u32(0), ...u64(record), ...u32(1));
    out.push(...u32(0x06054b50), ...u32(0), ...u16(0xffff), ...u16(0xffff), ...u32(0xffffffff), ...u32(0xffffffff), ...u16(0));
  }
  return new Uint8Array(out);
}

/** A checkpoint named `archive` with data.pkl first, then the given storages, like torch.save. */
function checkpoint(body: Ops, storages: Record<string, Uint8Array> = {}, options: ZipOptions & { byteorder?: string | null } = {}): Uint8Array {
  const files: [string, Uint8Array][] = [['data.pkl', pickle(body)]];
  if (options.byteorder !== null) files.push(['byteorder', Buffer.from(options.byteorder ?? 'little')]);
  for (const [key, bytes] of Object.entries(storages)) files.push([`data/${key}`, bytes]);
  files.push(['version', Buffer.from('3\n')]);
  return torchZip('archive', files, options);
}

function tensorAt(state: StateDict, key: string): TorchTensor {
  const value = state.get(key);
  assert.ok(isTorchTensor(value), `${key} should be a tensor`);
  return value;
}

const unsupported = (message: RegExp): { code: string; message: RegExp } => ({ code: 'MODEL_UNSUPPORTED', message });

describe('torch checkpoint reader on hand-built files', () => {
  const body = dict([
    ['w', tensor('0', 'FloatStorage', 6, 0, [2, 3], [3, 1])],
    ['steps', tensor('1', 'LongStorage', 1, 0, [], [])],
    ['tail', tensor('0', 'FloatStorage', 6, 4, [2], [1])],
    ['count', int(40)],
  ]);
  const storages = { '0': floats(0, 1, 2, 3, 4, 5), '1': longs(1000n) };

  for (const [label, options] of [
    ['zip64 end record', {}],
    ['zip64 extra fields', { zip64Entries: true }],
    ['classic end record, no byteorder record (older torch)', { noZip64End: true, byteorder: null }],
  ] as const) {
    test(`reads tensors, scalars and key order (${label})`, () => {
      const state = parseTorchCheckpoint(checkpoint(body, storages, options), 'hand.ckpt');
      assert.deepEqual([...state.keys()], ['w', 'steps', 'tail', 'count']);
      const w = tensorAt(state, 'w');
      assert.equal(w.dtype, 'float32');
      assert.deepEqual(w.shape, [2, 3]);
      assert.deepEqual([...w.data], [0, 1, 2, 3, 4, 5]);
      const steps = tensorAt(state, 'steps');
      assert.equal(steps.dtype, 'int64');
      assert.deepEqual(steps.shape, []);
      assert.deepEqual([...steps.data], [1000n]);
      assert.deepEqual([...tensorAt(state, 'tail').data], [4, 5]);
      assert.equal(w.data.buffer, tensorAt(state, 'tail').data.buffer, 'tensors sharing a storage are views of one buffer');
      assert.equal(state.get('count'), 40);
    });
  }

  test('copies misaligned storages instead of failing', () => {
    const bytes = checkpoint(body, storages);
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const state = parseTorchCheckpoint(shifted.subarray(1), 'shifted.ckpt');
    assert.deepEqual([...tensorAt(state, 'w').data], [0, 1, 2, 3, 4, 5]);
    assert.deepEqual([...tensorAt(state, 'steps').data], [1000n]);
  });

  test('copies non-contiguous tensors out in C order', () => {
    const state = parseTorchCheckpoint(
      checkpoint(
        dict([
          ['transposed', tensor('0', 'FloatStorage', 6, 0, [2, 3], [1, 2])],
          ['expanded', tensor('0', 'FloatStorage', 6, 1, [2, 3], [0, 1])],
          ['strided', tensor('0', 'FloatStorage', 6, 1, [3], [2])],
        ]),
        { '0': floats(0, 1, 2, 3, 4, 5) },
      ),
      'strides.ckpt',
    );
    assert.deepEqual([...tensorAt(state, 'transposed').data], [0, 2, 4, 1, 3, 5]);
    assert.deepEqual([...tensorAt(state, 'expanded').data], [1, 2, 3, 1, 2, 3]);
    const bomb = dict([['b', tensor('0', 'FloatStorage', 6, 0, [1_000_000, 1000], [0, 0])]]);
    assert.throws(() => parseTorchCheckpoint(checkpoint(bomb, { '0': floats(0, 1, 2, 3, 4, 5) }), 'x.ckpt'), unsupported(/expanded tensors are not supported/));
    assert.deepEqual([...tensorAt(state, 'strided').data], [1, 3, 5]);
  });

  test('refuses a pickle naming os.system, and nothing runs', () => {
    const marker = join(tmpdir(), `hearth-pickle-${process.pid}-${Date.now()}`);
    const evil = checkpoint([...global('os', 'system'), ...tuple(str(`touch ${marker}`)), 0x52]);
    assert.throws(() => parseTorchCheckpoint(evil, 'evil.ckpt'), (error: { code: string; message: string; details: Record<string, unknown> }) => {
      assert.equal(error.code, 'MODEL_UNSUPPORTED');
      assert.match(error.message, /^evil\.ckpt: .*os\.system/);
      assert.equal(error.details.global, 'os.system');
      return true;
    });
    assert.equal(existsSync(marker), false);
  });

  test('refuses builtins.eval, unimplemented storage types, and calling a storage type', () => {
    const evalCall = [...global('builtins', 'eval'), ...tuple(str('1+1')), 0x52];
    assert.throws(() => parseTorchCheckpoint(checkpoint(evalCall), 'x.ckpt'), unsupported(/builtins\.eval/));
    const doubles = dict([['d', tensor('0', 'DoubleStorage', 1, 0, [1], [1])]]);
    assert.throws(() => parseTorchCheckpoint(checkpoint(doubles, { '0': new Uint8Array(8) }), 'x.ckpt'), unsupported(/torch\.DoubleStorage/));
    const callStorage = [...global('torch', 'FloatStorage'), 0x29, 0x52];
    assert.throws(() => parseTorchCheckpoint(checkpoint(callStorage), 'x.ckpt'), unsupported(/torch\.FloatStorage.*not called/));
  });

  test('refuses unknown opcodes, truncated pickles and self-referencing lists', () => {
    assert.throws(() => parseTorchCheckpoint(checkpoint([0x93]), 'x.ckpt'), unsupported(/opcode 0x93/));
    assert.throws(() => parseTorchCheckpoint(checkpoint([0xff]), 'x.ckpt'), unsupported(/opcode 0xff/));
    const cut = torchZip('archive', [['data.pkl', pickle(dict([['a', int(1)]])).subarray(0, 8)]]);
    assert.throws(() => parseTorchCheckpoint(cut, 'x.ckpt'), unsupported(/truncated/));
    const loop = [0x7d, ...str('a'), 0x5d, 0x71, 0, 0x68, 0, 0x61, 0x73];
    assert.throws(() => parseTorchCheckpoint(checkpoint(loop), 'x.ckpt'), unsupported(/refers to itself/));
  });

  test('refuses missing storages and tensors that read past their storage', () => {
    const missing = dict([['w', tensor('7', 'FloatStorage', 6, 0, [6], [1])]]);
    assert.throws(() => parseTorchCheckpoint(checkpoint(missing, storages), 'x.ckpt'), unsupported(/archive\/data\/7/));
    const short = dict([['w', tensor('0', 'FloatStorage', 100, 0, [100], [1])]]);
    assert.throws(() => parseTorchCheckpoint(checkpoint(short, storages), 'x.ckpt'), unsupported(/archive\/data\/0.*too few/));
    const past = dict([['w', tensor('0', 'FloatStorage', 6, 1, [2, 3], [3, 1])]]);
    assert.throws(() => parseTorchCheckpoint(checkpoint(past, storages), 'x.ckpt'), unsupported(/reads past the end of archive\/data\/0/));
  });

  test('refuses non-zips, truncated zips, compressed entries and big-endian storages', () => {
    const good = checkpoint(body, storages);
    assert.throws(() => parseTorchCheckpoint(Buffer.from('not a checkpoint at all, just text'), 'x.ckpt'), unsupported(/not a zip/));
    assert.throws(() => parseTorchCheckpoint(good.subarray(0, good.length - 30), 'x.ckpt'), unsupported(/^x\.ckpt: /));
    assert.throws(() => parseTorchCheckpoint(good.subarray(0, 200), 'x.ckpt'), unsupported(/^x\.ckpt: /));
    assert.throws(() => parseTorchCheckpoint(pickle(dict([])), 'x.ckpt'), unsupported(/legacy/));
    assert.throws(() => parseTorchCheckpoint(checkpoint(body, storages, { method: 8 }), 'x.ckpt'), unsupported(/compressed/));
    assert.throws(() => parseTorchCheckpoint(checkpoint(body, storages, { byteorder: 'big' }), 'x.ckpt'), unsupported(/big-endian/));
  });

  test('readTorchCheckpoint honours an aborted signal and types a missing file', async () => {
    await assert.rejects(readTorchCheckpoint('/nonexistent/x.ckpt', { signal: AbortSignal.abort() }), { code: 'ABORTED' });
    await assert.rejects(readTorchCheckpoint(join(tmpdir(), `hearth-missing-${process.pid}.ckpt`)), { code: 'IO_ERROR' });
  });
});

describe('torch checkpoint reader on the ECAPA reference', { skip: ECAPA_SKIP }, () => {
  const file = (name: string): string => join(ECAPA_DIR ?? '', name);

  test('embedding_model.ckpt: keys in order, shapes, dtypes, one buffer', async () => {
    const state = await readTorchCheckpoint(file('embedding_model.ckpt'));
    const keys = [...state.keys()];
    assert.equal(keys.length, 231);
    assert.deepEqual(keys.slice(0, 7), [
      'blocks.0.conv.conv.weight',
      'blocks.0.conv.conv.bias',
      'blocks.0.norm.norm.weight',
      'blocks.0.norm.norm.bias',
      'blocks.0.norm.norm.running_mean',
      'blocks.0.norm.norm.running_var',
      'blocks.0.norm.norm.num_batches_tracked',
    ]);
    assert.deepEqual(keys.slice(-2), ['fc.conv.weight', 'fc.conv.bias']);
    const first = tensorAt(state, 'blocks.0.conv.conv.weight');
    assert.deepEqual(first.shape, [256, 80, 5]);
    assert.equal(first.data[0], Math.fround(-0.047102075070142746));
    assert.deepEqual(tensorAt(state, 'asp.tdnn.conv.conv.weight').shape, [64, 2304, 1]);
    assert.deepEqual(tensorAt(state, 'fc.conv.weight').shape, [192, 1536, 1]);
    let floatParams = 0;
    let counters = 0;
    for (const [key, value] of state) {
      assert.ok(isTorchTensor(value), key);
      if (value.dtype === 'float32') floatParams += value.data.length;
      else {
        assert.match(key, /num_batches_tracked$/);
        assert.deepEqual(value.shape, []);
        assert.equal(typeof value.data[0], 'bigint');
        counters++;
      }
    }
    assert.equal(floatParams, 1862816);
    assert.equal(counters, 31);
    assert.equal(first.data.buffer, tensorAt(state, 'fc.conv.bias').data.buffer, 'zero-copy views of one read');
  });

  test('classifier.ckpt and mean_var_norm_emb.ckpt', async () => {
    const classifier = await readTorchCheckpoint(file('classifier.ckpt'));
    assert.deepEqual([...classifier.keys()], ['weight']);
    const weight = tensorAt(classifier, 'weight');
    assert.equal(weight.dtype, 'float32');
    assert.deepEqual(weight.shape, [10, 192]);
    const norm = await readTorchCheckpoint(file('mean_var_norm_emb.ckpt'));
    assert.deepEqual([...norm.keys()], ['count', 'glob_mean', 'glob_std']);
    assert.equal(norm.get('count'), 40);
    assert.equal(tensorAt(norm, 'glob_mean').data.length, 192);
    assert.deepEqual(tensorAt(norm, 'glob_std').shape, [192]);
  });

  test('a truncated copy and a big-endian byteorder record are refused', () => {
    const bytes = new Uint8Array(readFileSync(file('mean_var_norm_emb.ckpt')));
    for (const end of [bytes.length - 10, bytes.length >> 1, 100]) {
      assert.throws(() => parseTorchCheckpoint(bytes.subarray(0, end), 'cut.ckpt'), unsupported(/^cut\.ckpt: /));
    }
    const entry = listZipEntries(bytes, 'copy').find((candidate) => candidate.name.endsWith('/byteorder'));
    assert.ok(entry);
    readZipEntry(bytes, entry, 'copy').set(Buffer.from('big   '));
    assert.throws(() => parseTorchCheckpoint(bytes, 'big.ckpt'), unsupported(/big-endian/));
  });
});
