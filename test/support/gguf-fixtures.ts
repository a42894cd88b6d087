/**
 * Builders for tiny, real, loadable GGUF models (a llama decoder and a bert encoder) with real
 * tokenizer metadata. Weights come from a seeded PRNG (mulberry32, seeded per tensor from the
 * fixture seed and the tensor name), so the same options give byte-identical files.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { arr, bool, DEFAULT_ALIGNMENT, f32, str, u32, writeGguf, type GgufTensor, type GgufValue } from './gguf-writer.js';
import { tensorSeed } from './tensor-seed.js';

// ---------------------------------------------------------------------------------------------------------------
// Deterministic weights
// ---------------------------------------------------------------------------------------------------------------

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
    let a = tensorSeed(this.seed, name);
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

/**
 * ChatML with a tool format: Qwen 2.5's, in which the tools are listed in the system turn and a call is a
 * <tool_call> JSON object, and a tool's answer comes back in a user turn as <tool_response>.
 */
export const CHATML_TOOLS_TEMPLATE =
  "{%- if tools %}{{- '<|im_start|>system\\n' }}{%- if messages[0]['role'] == 'system' %}{{- messages[0]['content'] }}{%- else %}{{- 'You are a helpful assistant.' }}{%- endif %}" +
  '{{- "\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided with function signatures within <tools></tools> XML tags:\\n<tools>" }}' +
  '{%- for tool in tools %}{{- "\\n" }}{{- tool | tojson }}{%- endfor %}' +
  '{{- "\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\"name\\": <function-name>, \\"arguments\\": <args-json-object>}\\n</tool_call><|im_end|>\\n" }}' +
  "{%- else %}{%- if messages[0]['role'] == 'system' %}{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}{%- endif %}{%- endif %}" +
  '{%- for message in messages %}' +
  '{%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}' +
  "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}" +
  '{%- elif message.role == "assistant" %}{{- \'<|im_start|>\' + message.role }}{%- if message.content %}{{- \'\\n\' + message.content }}{%- endif %}' +
  '{%- for tool_call in message.tool_calls %}{%- if tool_call.function is defined %}{%- set tool_call = tool_call.function %}{%- endif %}' +
  '{{- \'\\n<tool_call>\\n{"name": "\' }}{{- tool_call.name }}{{- \'", "arguments": \' }}{{- tool_call.arguments | tojson }}{{- \'}\\n</tool_call>\' }}{%- endfor %}{{- \'<|im_end|>\\n\' }}' +
  '{%- elif message.role == "tool" %}{%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}{{- \'<|im_start|>user\' }}{%- endif %}' +
  "{{- '\\n<tool_response>\\n' }}{{- message.content }}{{- '\\n</tool_response>' }}" +
  '{%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}{{- \'<|im_end|>\\n\' }}{%- endif %}{%- endif %}{%- endfor %}' +
  "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

interface LlamaVocab {
  tokens: string[];
  scores: number[];
  types: number[];
  /** Ids of tokens that are never meant to be generated (specials, byte fallback). */
  nonText: number[];
  imStart: number;
  imEnd: number;
  /** Fill-in-the-middle tokens, when asked for. */
  fim: { prefix: number; suffix: number; middle: number } | undefined;
}

/**
 * SentencePiece (llama) vocab: <unk> <s> </s>, the 256 byte-fallback tokens, "▁", then word pieces with descending
 * scores, then the ChatML control tokens. SPM tokenization in llama.cpp merges adjacent symbols pairwise and only
 * keeps a merge whose text is itself a token, so every prefix of a word piece is added too (▁t, ▁th, ▁the) — otherwise
 * whole words could never be reached. Any text still tokenizes via byte fallback.
 */
function buildLlamaVocab(fim = false): LlamaVocab {
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
  // Appended last, so a model without them keeps every other token's id.
  const fimTokens = fim ? { prefix: v.add('<|fim_prefix|>', TOKEN_TYPE.control), suffix: v.add('<|fim_suffix|>', TOKEN_TYPE.control), middle: v.add('<|fim_middle|>', TOKEN_TYPE.control) } : undefined;
  if (fimTokens) nonText.push(fimTokens.prefix, fimTokens.suffix, fimTokens.middle);
  const scores = v.tokens.map((_, id) => (id >= firstPiece && id < lastPiece ? -(id - firstPiece) : 0));
  return { tokens: v.tokens, scores, types: v.types, nonText, imStart, imEnd, fim: fimTokens };
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
  /** Write the ChatML template (default), or ChatML with a tool format ('tools'); false makes a base model with none. */
  chatTemplate?: boolean | 'tools';
  /** Add fill-in-the-middle tokens (`<|fim_prefix|>`, `<|fim_suffix|>`, `<|fim_middle|>`), as code models have. */
  fim?: boolean;
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

  const vocab = buildLlamaVocab(options.fim);
  const nVocab = vocab.tokens.length;

  const metadata: Array<[string, GgufValue]> = [
    ['general.architecture', str('llama')],
    ...(vocab.fim
      ? ([
          ['tokenizer.ggml.fim_pre_token_id', u32(vocab.fim.prefix)],
          ['tokenizer.ggml.fim_suf_token_id', u32(vocab.fim.suffix)],
          ['tokenizer.ggml.fim_mid_token_id', u32(vocab.fim.middle)],
        ] as Array<[string, GgufValue]>)
      : []),
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
    ...(options.chatTemplate === false ? [] : [['tokenizer.chat_template', str(options.chatTemplate === 'tools' ? CHATML_TOOLS_TEMPLATE : CHATML_TEMPLATE)] as [string, GgufValue]]),
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
