/**
 * Minimal ONNX model writer over onnx-proto (the file format only). The test fixtures build BERT encoders with it
 * (test/support/bert-onnx-fixture.ts) and the audio runtime builds ECAPA-TDNN graphs from SpeechBrain checkpoints.
 *
 * A `GraphBuilder` collects nodes and initializers in insertion order, which must already be topological (ONNX
 * requires it), and encodes an IR-8 model importing the default domain at opset 17. Tensors are stored as
 * little-endian `raw_data` bytes, never as per-element repeated fields, so a 90 MB model encodes in well under a
 * second. Nothing time- or host-dependent is written: the same calls always give byte-identical files.
 */
import { endianness } from 'node:os';
import onnxProto from 'onnx-proto';
import type { onnx } from 'onnx-proto';

const { ModelProto } = onnxProto.onnx;

export const IR_VERSION = 8;
export const DEFAULT_OPSET = 17;

/** TensorProto.DataType values used here. */
export const ELEM = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7 } as const;
export type ElemType = (typeof ELEM)[keyof typeof ELEM];

/** A dimension: a fixed size, or a symbolic name such as "batch_size". */
export type Dim = number | string;

export type Tensor = onnx.ITensorProto;
export type Node = onnx.INodeProto;
export type ValueInfo = onnx.IValueInfoProto;

if (endianness() !== 'LE') throw new Error('onnx-writer writes raw_data from typed arrays and needs a little-endian host');

const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function checkDims(name: string, dims: readonly number[], length: number): void {
  const n = dims.reduce((a, b) => a * b, 1);
  if (n !== length) throw new Error(`tensor ${name}: dims [${dims.join(', ')}] need ${n} values, got ${length}`);
}

function rawTensor(name: string, dataType: ElemType, dims: readonly number[], data: ArrayBufferView & { length: number }): Tensor {
  checkDims(name, dims, data.length);
  return { name, dataType, dims: [...dims], rawData: bytesOf(data) };
}

export const floatTensor = (name: string, dims: readonly number[], data: Float32Array): Tensor => rawTensor(name, ELEM.FLOAT, dims, data);
export const int8Tensor = (name: string, dims: readonly number[], data: Int8Array): Tensor => rawTensor(name, ELEM.INT8, dims, data);
export const uint8Tensor = (name: string, dims: readonly number[], data: Uint8Array): Tensor => rawTensor(name, ELEM.UINT8, dims, data);

export function int64Tensor(name: string, dims: readonly number[], data: BigInt64Array | readonly number[]): Tensor {
  const values = data instanceof BigInt64Array ? data : BigInt64Array.from(data, (v) => BigInt(v));
  return rawTensor(name, ELEM.INT64, dims, values);
}

// ---------------------------------------------------------------------------------------------------------------
// Attributes and nodes
// ---------------------------------------------------------------------------------------------------------------

/** Typed attribute values: build them with `int`, `ints`, `float`, `floats`, `str` and `tensorAttr`. */
export type AttrValue =
  | { type: 'int'; value: number }
  | { type: 'ints'; value: readonly number[] }
  | { type: 'float'; value: number }
  | { type: 'floats'; value: readonly number[] }
  | { type: 'string'; value: string }
  | { type: 'tensor'; value: Tensor };

export const int = (value: number): AttrValue => ({ type: 'int', value });
export const ints = (value: readonly number[]): AttrValue => ({ type: 'ints', value });
export const float = (value: number): AttrValue => ({ type: 'float', value });
export const floats = (value: readonly number[]): AttrValue => ({ type: 'floats', value });
export const str = (value: string): AttrValue => ({ type: 'string', value });
export const tensorAttr = (value: Tensor): AttrValue => ({ type: 'tensor', value });

// AttributeProto.AttributeType values.
const ATTR_TYPE = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 } as const;

function attribute(name: string, a: AttrValue): onnx.IAttributeProto {
  const type = ATTR_TYPE[a.type];
  switch (a.type) {
    case 'int':
      if (!Number.isSafeInteger(a.value)) throw new RangeError(`attribute ${name}: ${a.value} is not an integer`);
      return { name, type, i: a.value };
    case 'ints':
      return { name, type, ints: [...a.value] };
    case 'float':
      return { name, type, f: a.value };
    case 'floats':
      return { name, type, floats: [...a.value] };
    case 'string':
      return { name, type, s: new TextEncoder().encode(a.value) };
    case 'tensor':
      return { name, type, t: a.value };
  }
}

/** A default-domain node. Attributes are written in key order as given. */
export function node(opType: string, inputs: readonly string[], outputs: readonly string[], attrs: Record<string, AttrValue> = {}, name?: string): Node {
  return {
    opType,
    input: [...inputs],
    output: [...outputs],
    ...(name ? { name } : {}),
    attribute: Object.entries(attrs).map(([key, value]) => attribute(key, value)),
  };
}

/** A graph input/output declaration; string dims are symbolic (dim_param) so they stay dynamic. */
export function valueInfo(name: string, elemType: ElemType, dims: readonly Dim[]): ValueInfo {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Graph building and model encoding
// ---------------------------------------------------------------------------------------------------------------

export interface ModelOptions {
  graphName: string;
  producerName?: string;
  producerVersion?: string;
  opset?: number;
  docString?: string;
}

/** Encodes a ModelProto. Initializer and node order is kept, so equal inputs give equal bytes. */
export function encodeModel(graph: { nodes: Node[]; initializers: Tensor[]; inputs: ValueInfo[]; outputs: ValueInfo[] }, options: ModelOptions): Uint8Array {
  const model: onnx.IModelProto = {
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: options.opset ?? DEFAULT_OPSET }],
    producerName: options.producerName ?? 'hearth-test',
    producerVersion: options.producerVersion ?? '1',
    ...(options.docString ? { docString: options.docString } : {}),
    graph: {
      name: options.graphName,
      node: graph.nodes,
      initializer: graph.initializers,
      input: graph.inputs,
      output: graph.outputs,
    },
  };
  return ModelProto.encode(model).finish();
}

/**
 * Accumulates a graph. `op` names its outputs itself (`<prefix>/<OpType>_<n>`) unless given names, and constants
 * are deduplicated by value so repeated scalars such as 1.0 become a single initializer.
 */
export class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly initializers: Tensor[] = [];
  readonly inputs: ValueInfo[] = [];
  readonly outputs: ValueInfo[] = [];
  private readonly names = new Set<string>();
  private readonly constants = new Map<string, string>();
  private counter = 0;
  /** Prepended to generated names; set it per block (e.g. "layer.0/attention") to keep graphs readable. */
  scope = '';

  input(name: string, elemType: ElemType, dims: readonly Dim[]): string {
    this.claim(name);
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  output(name: string, elemType: ElemType, dims: readonly Dim[]): void {
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  initializer(tensor: Tensor): string {
    const name = tensor.name;
    if (!name) throw new Error('initializers need a name');
    this.claim(name);
    this.initializers.push(tensor);
    return name;
  }

  /** A float32 scalar (rank 0) or int64 vector constant, shared between all uses of the same value. */
  floatScalar(value: number): string {
    return this.constant(`f32:${Object.is(value, -0) ? '-0' : value}`, (name) => floatTensor(name, [], Float32Array.of(value)));
  }

  int64s(values: readonly number[], scalar = false): string {
    if (scalar && values.length !== 1) throw new Error('an int64 scalar needs exactly one value');
    const dims = scalar ? [] : [values.length];
    return this.constant(`i64${scalar ? 's' : 'v'}:${values.join(',')}`, (name) => int64Tensor(name, dims, values));
  }

  /** Adds a node with one output and returns that output's name. */
  op(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, outputName?: string): string {
    return this.opN(opType, inputs, outputName ? [outputName] : 1, attrs)[0]!;
  }

  /** Adds a node with several outputs (given by name, or by count to have them generated). */
  opN(opType: string, inputs: readonly string[], outputs: readonly string[] | number, attrs: Record<string, AttrValue> = {}): string[] {
    for (const i of inputs) if (i !== '' && !this.names.has(i)) throw new Error(`${opType}: input ${i} is not defined yet`);
    const id = this.counter++;
    const base = `${this.scope ? `${this.scope}/` : ''}${opType}_${id}`;
    const outs = typeof outputs === 'number' ? Array.from({ length: outputs }, (_, k) => `${base}_output_${k}`) : [...outputs];
    for (const o of outs) this.claim(o);
    this.nodes.push(node(opType, inputs, outs, attrs, base));
    return outs;
  }

  encode(options: ModelOptions): Uint8Array {
    for (const o of this.outputs) if (!o.name || !this.names.has(o.name)) throw new Error(`graph output ${o.name} is never produced`);
    return encodeModel(this, options);
  }

  private constant(key: string, make: (name: string) => Tensor): string {
    const known = this.constants.get(key);
    if (known) return known;
    const name = this.initializer(make(`const_${this.constants.size}`));
    this.constants.set(key, name);
    return name;
  }

  private claim(name: string): void {
    if (this.names.has(name)) throw new Error(`value name ${name} defined twice`);
    this.names.add(name);
  }
}
