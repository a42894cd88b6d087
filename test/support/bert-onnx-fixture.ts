/**
 * Tiny (or MiniLM-sized) random-weight BERT sentence-transformers repos in ONNX, written on the fly so tests never
 * commit binaries or touch a network. The graph is the BERT encoder as Optimum/HF export it (default-domain ops at
 * opset 17, `last_hidden_state` output); the folder has the files a loader reads from a real hub repo such as
 * sentence-transformers/all-MiniLM-L6-v2. Weights come from a seeded PRNG per tensor name, so the same options give
 * byte-identical files, and the `quantized`/`int8` variants quantize the very same weights.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize as normalizePath } from 'node:path';
import { ELEM, GraphBuilder, float, floatTensor, int, int64Tensor, int8Tensor, ints } from '../../src/formats/onnx/onnx-writer.js';
import { buildVocab, specialTokensMapJson, tokenizerConfigJson, tokenizerJson, vocabTxt } from './wordpiece-tokenizer.js';
import { tensorSeed } from './tensor-seed.js';

export type BertPooling = 'mean' | 'cls' | 'lasttoken';

export interface BertOnnxOptions {
  seed?: number /* 1 */;
  layers?: number /* 2 */;
  hidden?: number /* 32 */;
  heads?: number /* 2 */;
  intermediate?: number /* 64 */;
  /** Defaults to the base WordPiece vocabulary; smaller values throw. */
  vocabSize?: number;
  maxPositions?: number /* 128 */;
  /** sentence_bert_config max_seq_length and the tokenizer.json truncation length; defaults to maxPositions. */
  maxSeqLength?: number;
  pooling?: BertPooling /* mean */;
  normalize?: boolean /* true */;
  /** Whether the graph takes token_type_ids (true) or only input_ids and attention_mask. */
  tokenTypeIds?: boolean /* true */;
  /** false leaves out modules.json, 1_Pooling/, sentence_bert_config.json and config_sentence_transformers.json. */
  sentenceTransformers?: boolean /* true */;
  /** Relative paths not to write (each must name a file the fixture would write). */
  omit?: string[];
  /** Where the main model goes, relative to dir. */
  modelPath?: string /* onnx/model.onnx */;
  /** Extra onnx/model_<variant>.onnx files: int8 ones ('quantized', 'int8', 'qint8_avx2'...) are really quantized, the rest copy the fp32 graph. */
  variants?: string[];
}

export interface BertOnnxFixture {
  dir: string;
  /** Relative paths written, sorted. */
  files: string[];
  /** Absolute path of the main model. */
  modelFile: string;
  inputNames: string[];
  layers: number;
  hidden: number;
  heads: number;
  vocabSize: number;
  maxPositions: number;
  maxSeqLength: number;
  pooling: BertPooling;
  normalize: boolean;
  /** sha256 (hex) of the main model file. */
  sha256: string;
}

/** The all-MiniLM-L6-v2 shape, for benchmarks (≈90 MB of fp32 weights). */
export const MINILM_L6_SHAPE = { layers: 6, hidden: 384, heads: 12, intermediate: 1536, vocabSize: 30522, maxPositions: 512, maxSeqLength: 256 } as const;

/** Variant names that get a real dynamically quantized graph rather than a copy of the fp32 one. */
export const isInt8Variant = (variant: string): boolean => variant === 'quantized' || /int8/.test(variant);

const LAYER_NORM_EPS = 1e-12;
// Q/K/V/O gain: large enough that attention is peaked and carries content; otherwise a CLS vector is little more
// than the [CLS] embedding and barely differs between texts. Tuned so unrelated texts stay well apart.
const ATTENTION_GAIN = 1.2;
const FFN_GAIN = 0.6;
const FLOAT32_MIN = -3.4028234663852886e38; // torch.finfo(torch.float32).min, as HF's extended attention mask uses

interface Shape {
  layers: number;
  hidden: number;
  heads: number;
  intermediate: number;
  vocabSize: number;
  maxPositions: number;
  tokenTypeIds: boolean;
}

export async function writeBertOnnxFixture(dir: string, options: BertOnnxOptions = {}): Promise<BertOnnxFixture> {
  const shape: Shape = {
    layers: positiveInt('layers', options.layers ?? 2),
    hidden: positiveInt('hidden', options.hidden ?? 32),
    heads: positiveInt('heads', options.heads ?? 2),
    intermediate: positiveInt('intermediate', options.intermediate ?? 64),
    vocabSize: 0,
    maxPositions: positiveInt('maxPositions', options.maxPositions ?? 128),
    tokenTypeIds: options.tokenTypeIds ?? true,
  };
  if (shape.hidden % shape.heads !== 0) throw new RangeError(`hidden (${shape.hidden}) must be divisible by heads (${shape.heads})`);
  const maxSeqLength = positiveInt('maxSeqLength', options.maxSeqLength ?? shape.maxPositions);
  if (maxSeqLength > shape.maxPositions) throw new RangeError(`maxSeqLength (${maxSeqLength}) exceeds maxPositions (${shape.maxPositions})`);
  const vocab = options.vocabSize === undefined ? buildVocab() : buildVocab(options.vocabSize);
  shape.vocabSize = vocab.length;
  const pooling = options.pooling ?? 'mean';
  if (!['mean', 'cls', 'lasttoken'].includes(pooling)) throw new RangeError(`unknown pooling ${String(pooling)}`);
  const normalize = options.normalize ?? true;
  const modelPath = relativePath('modelPath', options.modelPath ?? 'onnx/model.onnx');
  const variants = options.variants ?? [];
  for (const v of variants) if (!/^[A-Za-z0-9_]+$/.test(v)) throw new RangeError(`variant name ${JSON.stringify(v)} must match [A-Za-z0-9_]+`);

  const weights = new Weights(options.seed ?? 1);
  const model = buildBertGraph(weights, shape, false);
  const files = new Map<string, string | Uint8Array>();
  const json = (value: unknown): string => JSON.stringify(value, null, 2);
  files.set(modelPath, model);
  const quantized = variants.some(isInt8Variant) ? buildBertGraph(weights, shape, true) : undefined;
  for (const v of variants) files.set(`onnx/model_${v}.onnx`, (isInt8Variant(v) && quantized) || model);
  files.set('config.json', json(bertConfig(shape)));
  files.set('tokenizer.json', tokenizerJson(vocab, maxSeqLength));
  files.set('tokenizer_config.json', tokenizerConfigJson(shape.maxPositions));
  files.set('special_tokens_map.json', specialTokensMapJson());
  files.set('vocab.txt', vocabTxt(vocab));
  if (options.sentenceTransformers ?? true) {
    const modules = [
      { idx: 0, name: '0', path: '', type: 'sentence_transformers.models.Transformer' },
      { idx: 1, name: '1', path: '1_Pooling', type: 'sentence_transformers.models.Pooling' },
      // Normalize has no files, so real repos list it here without a 2_Normalize folder.
      ...(normalize ? [{ idx: 2, name: '2', path: '2_Normalize', type: 'sentence_transformers.models.Normalize' }] : []),
    ];
    files.set('modules.json', json(modules));
    files.set('sentence_bert_config.json', json({ max_seq_length: maxSeqLength, do_lower_case: false }));
    files.set(
      'config_sentence_transformers.json',
      json({
        __version__: { sentence_transformers: '3.0.1', transformers: '4.41.2', pytorch: '2.3.0' },
        prompts: {},
        default_prompt_name: null,
        similarity_fn_name: 'cosine',
      }),
    );
    files.set('1_Pooling/config.json', json(poolingConfig(shape.hidden, pooling)));
  }

  const omit = new Set((options.omit ?? []).map((p) => relativePath('omit', p)));
  for (const p of omit) if (!files.has(p)) throw new Error(`omit: ${p} is not a file this fixture writes (${[...files.keys()].join(', ')})`);
  const written = [...files.keys()].filter((p) => !omit.has(p)).sort();
  for (const p of written) {
    const target = join(dir, p);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, files.get(p)!);
  }

  return {
    dir,
    files: written,
    modelFile: join(dir, modelPath),
    inputNames: shape.tokenTypeIds ? ['input_ids', 'attention_mask', 'token_type_ids'] : ['input_ids', 'attention_mask'],
    layers: shape.layers,
    hidden: shape.hidden,
    heads: shape.heads,
    vocabSize: shape.vocabSize,
    maxPositions: shape.maxPositions,
    maxSeqLength,
    pooling,
    normalize,
    sha256: createHash('sha256').update(model).digest('hex'),
  };
}

function bertConfig(s: Shape): Record<string, unknown> {
  return {
    architectures: ['BertModel'],
    model_type: 'bert',
    hidden_size: s.hidden,
    num_hidden_layers: s.layers,
    num_attention_heads: s.heads,
    intermediate_size: s.intermediate,
    max_position_embeddings: s.maxPositions,
    vocab_size: s.vocabSize,
    type_vocab_size: 2,
    pad_token_id: 0,
    layer_norm_eps: LAYER_NORM_EPS,
    hidden_act: 'gelu',
    position_embedding_type: 'absolute',
    torch_dtype: 'float32',
  };
}

function poolingConfig(hidden: number, pooling: BertPooling): Record<string, unknown> {
  return {
    word_embedding_dimension: hidden,
    pooling_mode_cls_token: pooling === 'cls',
    pooling_mode_mean_tokens: pooling === 'mean',
    pooling_mode_max_tokens: false,
    pooling_mode_mean_sqrt_len_tokens: false,
    pooling_mode_weightedmean_tokens: false,
    pooling_mode_lasttoken: pooling === 'lasttoken',
    include_prompt: true,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Deterministic weights
// ---------------------------------------------------------------------------------------------------------------

/**
 * Approximately normal(mean, std) tensors keyed by name, generated once so the fp32 and int8 graphs share them.
 * Each value is an Irwin–Hall sum of four 16-bit uniforms (two mulberry32 draws): a bell bounded at ±3.46σ, which
 * is all random weights need, and ~5x faster than Box–Muller's log/sqrt/cos for the ~23M MiniLM-shape values.
 */
class Weights {
  private readonly cache = new Map<string, Float32Array>();
  constructor(private readonly seed: number) {}

  normal(name: string, size: number, std: number, mean = 0): Float32Array {
    const known = this.cache.get(name);
    if (known) return known;
    const data = new Float32Array(size);
    const k = (std * Math.sqrt(3)) / 65536; // the sum of four U(0, 65536) has variance 4 * 65536² / 12
    let a = tensorSeed(this.seed, name) | 0;
    for (let i = 0; i < size; i++) {
      // mulberry32, twice, inlined and kept in int32 (no >>> 0) so V8 never boxes a double.
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), a | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      t ^= t >>> 14;
      a = (a + 0x6d2b79f5) | 0;
      let u = Math.imul(a ^ (a >>> 15), a | 1);
      u ^= u + Math.imul(u ^ (u >>> 7), u | 61);
      u ^= u >>> 14;
      data[i] = mean + ((t & 0xffff) + (t >>> 16) + (u & 0xffff) + (u >>> 16) - 131070) * k;
    }
    this.cache.set(name, data);
    return data;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The graph
// ---------------------------------------------------------------------------------------------------------------

/**
 * Symmetric per-tensor int8, as onnxruntime's quantize_dynamic does for weights (QInt8: zero point 0,
 * scale = max|w| / 127).
 */
function quantizeInt8(data: Float32Array): { q: Int8Array; scale: number } {
  let max = 0;
  for (let i = 0; i < data.length; i++) max = Math.max(max, Math.abs(data[i]!));
  const scale = max > 0 ? max / 127 : 1;
  const q = new Int8Array(data.length);
  for (let i = 0; i < data.length; i++) q[i] = Math.round(data[i]! / scale);
  return { q, scale: Math.fround(scale) };
}

/** Builds the encoder; with `int8`, weight MatMuls and the word-embedding Gather are dynamically quantized. */
function buildBertGraph(w: Weights, s: Shape, int8: boolean): Uint8Array {
  const { hidden: H, intermediate: I, heads } = s;
  const headDim = H / heads;
  const g = new GraphBuilder();
  const dims = ['batch_size', 'sequence_length'];
  const inputIds = g.input('input_ids', ELEM.INT64, dims);
  const mask = g.input('attention_mask', ELEM.INT64, dims);
  const tokenTypes = s.tokenTypeIds ? g.input('token_type_ids', ELEM.INT64, dims) : undefined;

  const table = (name: string, rows: number, std: number): string => g.initializer(floatTensor(name, [rows, H], w.normal(name, rows * H, std)));
  const vector = (name: string, n: number, std: number, mean = 0): string => g.initializer(floatTensor(name, [n], w.normal(name, n, std, mean)));
  const layerNorm = (x: string, prefix: string, n: number, outputName?: string): string =>
    g.op('LayerNormalization', [x, vector(`${prefix}.weight`, n, 0.05, 1), vector(`${prefix}.bias`, n, 0.05)], { axis: int(-1), epsilon: float(LAYER_NORM_EPS) }, outputName);

  // Weights scale with gain/sqrt(fan_in) so activations stay O(1) from the tiny shape to MiniLM's. They are stored
  // [in, out] for MatMul (Optimum exports PyTorch's [out, in] Linear weights transposed in the same way).
  const linear = (x: string, prefix: string, fanIn: number, fanOut: number, gain: number): string => {
    const weightName = `${prefix}.weight`;
    const weight = w.normal(weightName, fanIn * fanOut, gain / Math.sqrt(fanIn));
    const bias = vector(`${prefix}.bias`, fanOut, 0.02);
    if (!int8) return g.op('Add', [g.op('MatMul', [x, g.initializer(floatTensor(weightName, [fanIn, fanOut], weight))]), bias]);
    // quantize_dynamic's MatMul pattern: uint8 activations quantized per call, int8 weights, int32 accumulation.
    const { q, scale } = quantizeInt8(weight);
    const wq = g.initializer(int8Tensor(`${weightName}_quantized`, [fanIn, fanOut], q));
    const wScale = g.initializer(floatTensor(`${weightName}_scale`, [], Float32Array.of(scale)));
    const wZero = g.initializer(int8Tensor(`${weightName}_zero_point`, [], Int8Array.of(0)));
    const [xq, xScale, xZero] = g.opN('DynamicQuantizeLinear', [x], 3) as [string, string, string];
    const acc = g.op('MatMulInteger', [xq, wq, xZero, wZero]);
    const scaled = g.op('Mul', [g.op('Cast', [acc], { to: int(ELEM.FLOAT) }), g.op('Mul', [xScale, wScale])]);
    return g.op('Add', [scaled, bias]);
  };

  // Embeddings: word + position + token type, then LayerNorm. Word embeddings are wide (std 1) and positions narrow
  // (std 0.2) so that the text, not its length, dominates the pooled vector.
  g.scope = 'embeddings';
  const wordName = 'embeddings.word_embeddings.weight';
  let words: string;
  if (int8) {
    // quantize_dynamic's Gather pattern: gather int8 rows, then dequantize only those.
    const { q, scale } = quantizeInt8(w.normal(wordName, s.vocabSize * H, 1));
    const rows = g.op('Gather', [g.initializer(int8Tensor(`${wordName}_quantized`, [s.vocabSize, H], q)), inputIds], { axis: int(0) });
    const wScale = g.initializer(floatTensor(`${wordName}_scale`, [], Float32Array.of(scale)));
    const wZero = g.initializer(int8Tensor(`${wordName}_zero_point`, [], Int8Array.of(0)));
    words = g.op('DequantizeLinear', [rows, wScale, wZero]);
  } else {
    words = g.op('Gather', [table(wordName, s.vocabSize, 1), inputIds], { axis: int(0) });
  }
  // HF's position_ids buffer, [1, maxPositions], sliced to the input's sequence length: [1, s, H] broadcasts over b.
  const allPositions = g.initializer(int64Tensor('embeddings.position_ids', [1, s.maxPositions], BigInt64Array.from({ length: s.maxPositions }, (_, i) => BigInt(i))));
  const seqLen = g.op('Shape', [inputIds], { start: int(1), end: int(2) });
  const positionIds = g.op('Slice', [allPositions, g.int64s([0]), seqLen, g.int64s([1])]);
  const positions = g.op('Gather', [table('embeddings.position_embeddings.weight', s.maxPositions, 0.2), positionIds], { axis: int(0) });
  // Without a token_type_ids input every position is type 0, as HF's buffered zeros make it.
  const typeTable = table('embeddings.token_type_embeddings.weight', 2, 0.2);
  const types = g.op('Gather', [typeTable, tokenTypes ?? g.int64s([0], true)], { axis: int(0) });
  let h = layerNorm(g.op('Add', [g.op('Add', [words, positions]), types]), 'embeddings.LayerNorm', H);

  // (1 - mask) * float32.min, [b, 1, 1, s]: masked keys get a huge but finite negative score, so even a fully
  // padded row softmaxes to finite (uniform) weights instead of NaN.
  g.scope = 'extended_attention_mask';
  const maskFloat = g.op('Cast', [g.op('Unsqueeze', [mask, g.int64s([1, 2])])], { to: int(ELEM.FLOAT) });
  const maskBias = g.op('Mul', [g.op('Sub', [g.floatScalar(1), maskFloat]), g.floatScalar(FLOAT32_MIN)]);

  const splitHeads = g.int64s([0, 0, heads, headDim]);
  const mergeHeads = g.int64s([0, 0, H]);
  for (let l = 0; l < s.layers; l++) {
    const p = `encoder.layer.${l}`;
    g.scope = `${p}/attention`;
    const splitProjection = (name: string, perm: number[]): string =>
      g.op('Transpose', [g.op('Reshape', [linear(h, `${p}.attention.self.${name}`, H, H, ATTENTION_GAIN), splitHeads])], { perm: ints(perm) });
    const q = splitProjection('query', [0, 2, 1, 3]); // [b, h, s, d]
    const k = splitProjection('key', [0, 2, 3, 1]); // [b, h, d, s]
    const v = splitProjection('value', [0, 2, 1, 3]);
    const scores = g.op('Add', [g.op('Div', [g.op('MatMul', [q, k]), g.floatScalar(Math.sqrt(headDim))]), maskBias]);
    const context = g.op('MatMul', [g.op('Softmax', [scores], { axis: int(-1) }), v]);
    const merged = g.op('Reshape', [g.op('Transpose', [context], { perm: ints([0, 2, 1, 3]) }), mergeHeads]);
    const attn = linear(merged, `${p}.attention.output.dense`, H, H, ATTENTION_GAIN);
    h = layerNorm(g.op('Add', [attn, h]), `${p}.attention.output.LayerNorm`, H);

    g.scope = `${p}/ffn`;
    const up = linear(h, `${p}.intermediate.dense`, H, I, FFN_GAIN);
    // GELU, erf form (the Gelu op only exists from opset 20): x * 0.5 * (1 + erf(x / sqrt(2))).
    const erf = g.op('Erf', [g.op('Div', [up, g.floatScalar(Math.SQRT2)])]);
    const gelu = g.op('Mul', [g.op('Mul', [up, g.op('Add', [erf, g.floatScalar(1)])]), g.floatScalar(0.5)]);
    const down = linear(gelu, `${p}.output.dense`, I, H, FFN_GAIN);
    h = layerNorm(g.op('Add', [down, h]), `${p}.output.LayerNorm`, H, l === s.layers - 1 ? 'last_hidden_state' : undefined);
  }
  g.output('last_hidden_state', ELEM.FLOAT, ['batch_size', 'sequence_length', H]);
  return g.encode({ graphName: int8 ? 'main_graph_quantized' : 'main_graph' });
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  return v;
}

function relativePath(what: string, p: string): string {
  const n = normalizePath(p).replaceAll('\\', '/');
  if (isAbsolute(p) || n.startsWith('../') || n === '..' || n === '.') throw new RangeError(`${what}: ${p} must be a relative path inside the fixture`);
  return n;
}
