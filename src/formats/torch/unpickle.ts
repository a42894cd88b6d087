/**
 * An allow-listed reader for pickle protocol 2, the format of torch.save's data.pkl.
 * It never imports or runs anything a pickle names: GLOBAL is looked up in a table the
 * caller supplies (a name outside it is refused on sight), and REDUCE can only call
 * the caller's own functions from that table.
 */
import { HearthError } from '../../errors/index.js';

/** A Python tuple; kept apart from lists because REDUCE arguments and persistent ids must be tuples. */
export class PickleTuple {
  constructor(readonly items: readonly PickleValue[]) {}
}

/** An allow-listed `module.name` the pickle referred to; only callable through the caller's table. */
export class PickleGlobal {
  constructor(readonly qualifiedName: string) {}
}

/** A value made by a caller's function (a storage, a tensor); carried without looking inside. */
export class PickleOpaque {
  constructor(readonly value: unknown) {}
}

export type PickleKey = string | number | bigint | boolean | null;
export type PickleValue = PickleKey | PickleValue[] | PickleTuple | Map<PickleKey, PickleValue> | PickleGlobal | PickleOpaque;
export type PickleCallable = (args: readonly PickleValue[]) => PickleValue;

export interface UnpickleOptions {
  /** Names the file in error messages. */
  what: string;
  /** Every `module.name` the pickle may mention; null marks one that may be named (e.g. a storage type) but never called. */
  globals: ReadonlyMap<string, PickleCallable | null>;
  /** Turns a BINPERSID id into a value; without it BINPERSID is refused. */
  persistentLoad?: (pid: PickleValue) => PickleValue;
}

export function pickleRefusal(what: string, problem: string, details: Record<string, unknown> = {}, cause?: unknown): HearthError {
  return new HearthError('MODEL_UNSUPPORTED', `${what}: ${problem}`, { details: { file: what, ...details }, cause });
}

function isKey(value: PickleValue): value is PickleKey {
  return value === null || ['string', 'number', 'bigint', 'boolean'].includes(typeof value);
}

/** Reads one pickle from `bytes`, refusing anything outside protocol 2's data opcodes and the allow-list. */
export function unpickle(bytes: Uint8Array, options: UnpickleOptions): PickleValue {
  const { what } = options;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let pos = 0;
  let at = 0;
  let stack: PickleValue[] = [];
  const marks: PickleValue[][] = [];
  const memo = new Map<number, PickleValue>();

  const fail = (problem: string, details: Record<string, unknown> = {}, cause?: unknown): HearthError =>
    pickleRefusal(what, `${problem} (pickle byte ${at})`, { offset: at, ...details }, cause);
  const take = (length: number): Uint8Array => {
    if (length < 0 || pos + length > bytes.length) throw fail(`pickle is truncated: needs ${length} more bytes, ${bytes.length - pos} left`);
    pos += length;
    return bytes.subarray(pos - length, pos);
  };
  const u8 = (): number => take(1)[0]!;
  const u16 = (): number => (take(2), view.getUint16(pos - 2, true));
  const u32 = (): number => (take(4), view.getUint32(pos - 4, true));
  const text = (length: number): string => {
    const raw = take(length);
    try {
      return utf8.decode(raw);
    } catch (error) {
      throw fail('pickle string is not valid UTF-8', {}, error);
    }
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) throw fail('pickle is truncated inside a GLOBAL name');
    const value = text(end - pos);
    pos++;
    return value;
  };
  const pop = (): PickleValue => {
    if (stack.length === 0) throw fail('pickle pops an empty stack');
    return stack.pop()!;
  };
  const top = (): PickleValue => {
    if (stack.length === 0) throw fail('pickle reads an empty stack');
    return stack[stack.length - 1]!;
  };
  const popMark = (): PickleValue[] => {
    const outer = marks.pop();
    if (outer === undefined) throw fail('pickle closes a MARK it never opened');
    const items = stack;
    stack = outer;
    return items;
  };
  const memoGet = (key: number): PickleValue => {
    if (!memo.has(key)) throw fail(`pickle refers to memo slot ${key}, which was never filled`);
    return memo.get(key)!;
  };
  const call = (target: PickleValue, args: PickleValue): PickleValue => {
    if (!(target instanceof PickleGlobal)) throw fail('pickle calls something that is not an allow-listed global');
    const fn = options.globals.get(target.qualifiedName);
    if (!fn) throw fail(`pickle calls ${target.qualifiedName}, which may be named but not called`, { global: target.qualifiedName });
    if (!(args instanceof PickleTuple)) throw fail(`pickle calls ${target.qualifiedName} without an argument tuple`, { global: target.qualifiedName });
    return fn(args.items);
  };
  const setItem = (dict: PickleValue, key: PickleValue, value: PickleValue): void => {
    if (!(dict instanceof Map)) throw fail('pickle sets an item on something that is not a dict');
    if (!isKey(key)) throw fail('pickle uses a dict key that is not a string, number or boolean');
    dict.set(key, value);
  };
  const int = (value: bigint): number | bigint => (value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value);

  for (;;) {
    at = pos;
    const op = u8();
    switch (op) {
      case 0x80: { // PROTO
        const protocol = u8();
        if (protocol > 5) throw fail(`pickle protocol ${protocol} is newer than any known`, { protocol });
        break;
      }
      case 0x95: take(8); break; // FRAME: a hint for buffered readers; the whole pickle is in memory
      case 0x7d: stack.push(new Map()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push(new PickleTuple([])); break; // EMPTY_TUPLE
      case 0x85: stack.push(new PickleTuple([pop()])); break; // TUPLE1
      case 0x86: { const b = pop(); stack.push(new PickleTuple([pop(), b])); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); stack.push(new PickleTuple([pop(), b, c])); break; } // TUPLE3
      case 0x74: { const items = popMark(); stack.push(new PickleTuple(items)); break; } // TUPLE (popMark swaps `stack`, so pop first)
      case 0x28: marks.push(stack); stack = []; break; // MARK
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: stack.push(memoGet(u8())); break; // BINGET
      case 0x6a: stack.push(memoGet(u32())); break; // LONG_BINGET
      case 0x4a: take(4); stack.push(view.getInt32(pos - 4, true)); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: { // LONG1: little-endian two's complement of the given length
        const raw = take(u8());
        let value = 0n;
        for (let i = raw.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(raw[i]!);
        if (raw.length > 0 && raw[raw.length - 1]! >= 0x80) value -= 1n << BigInt(raw.length * 8);
        stack.push(int(value));
        break;
      }
      case 0x47: take(8); stack.push(view.getFloat64(pos - 8, false)); break; // BINFLOAT (big-endian)
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4e: stack.push(null); break; // NONE
      case 0x58: stack.push(text(u32())); break; // BINUNICODE
      case 0x8c: stack.push(text(u8())); break; // SHORT_BINUNICODE
      case 0x54: take(4); stack.push(text(view.getInt32(pos - 4, true))); break; // BINSTRING (torch.load decodes these as UTF-8)
      case 0x55: stack.push(text(u8())); break; // SHORT_BINSTRING
      case 0x63: { // GLOBAL: checked against the allow-list here, before anything can use it
        const qualifiedName = `${line()}.${line()}`;
        if (!options.globals.has(qualifiedName)) {
          throw fail(`pickle names ${qualifiedName}, which is not allowed in a checkpoint (nothing was imported or run)`, { global: qualifiedName });
        }
        stack.push(new PickleGlobal(qualifiedName));
        break;
      }
      case 0x52: case 0x81: { const args = pop(); stack.push(call(pop(), args)); break; } // REDUCE, NEWOBJ
      case 0x62: { // BUILD: only an OrderedDict's attributes (a state_dict's `_metadata`), which we drop
        pop();
        if (!(top() instanceof Map)) throw fail('pickle sets object state (BUILD) on something other than a dict');
        break;
      }
      case 0x73: { const value = pop(); const key = pop(); setItem(top(), key, value); break; } // SETITEM
      case 0x75: { // SETITEMS
        const items = popMark();
        if (items.length % 2 !== 0) throw fail('pickle SETITEMS has a key without a value');
        for (let i = 0; i < items.length; i += 2) setItem(top(), items[i]!, items[i + 1]!);
        break;
      }
      case 0x61: case 0x65: { // APPEND, APPENDS
        const items = op === 0x61 ? [pop()] : popMark();
        const list = top();
        if (!Array.isArray(list)) throw fail('pickle appends to something that is not a list');
        for (const item of items) list.push(item);
        break;
      }
      case 0x51: { // BINPERSID
        if (!options.persistentLoad) throw fail('pickle refers to an external object (BINPERSID) where none is allowed');
        stack.push(options.persistentLoad(pop()));
        break;
      }
      case 0x2e: // STOP
        if (marks.length > 0 || stack.length !== 1) throw fail(`pickle stops with ${stack.length} values and ${marks.length} open marks`);
        return stack[0]!;
      default: {
        const printable = op >= 0x20 && op < 0x7f ? ` ('${String.fromCharCode(op)}')` : '';
        throw fail(`pickle uses opcode 0x${op.toString(16).padStart(2, '0')}${printable}, which this reader does not support`, { opcode: op });
      }
    }
  }
}
