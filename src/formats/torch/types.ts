/** A tensor read from a PyTorch checkpoint: row-major (C order) values with their shape. */
export type TorchTensor =
  | { dtype: 'float32'; shape: number[]; data: Float32Array }
  | { dtype: 'int64'; shape: number[]; data: BigInt64Array };

/** What an allow-listed checkpoint pickle can hold: tensors, numbers, strings, and dicts or lists of them. */
export type TorchValue = TorchTensor | number | bigint | string | boolean | null | TorchValue[] | Map<string, TorchValue>;

/** A `torch.save(state_dict)` file's top-level mapping, in the file's key order. */
export type StateDict = Map<string, TorchValue>;

export function isTorchTensor(value: TorchValue | undefined): value is TorchTensor {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Map) && 'dtype' in value;
}
