/**
 * BERT WordPiece tokenizer files as Hugging Face repos ship them (tokenizer.json, vocab.txt, tokenizer_config.json,
 * special_tokens_map.json), built from a deterministic vocabulary laid out like bert-base-uncased: the special
 * tokens keep their well-known ids ([PAD]=0, [UNK]=100, [CLS]=101, [SEP]=102, [MASK]=103), so code that hardcodes
 * them behaves as with real models.
 */

export const SPECIAL_IDS = { pad: 0, unk: 100, cls: 101, sep: 102, mask: 103 } as const;
export const SPECIAL_TOKENS = { pad: '[PAD]', unk: '[UNK]', cls: '[CLS]', sep: '[SEP]', mask: '[MASK]' } as const;

/** Common lowercase English words, so ordinary test sentences tokenize to whole words. */
const COMMON_WORDS = (
  'the of and to a in is it you that he was for on are with as his they be at one have this from or had by not ' +
  'word but what some we can out other were all there when up use your how said an each she which do their time if ' +
  'will way about many then them write would like so these her long make thing see him two has look more day could ' +
  'go come did number sound no most people my over know water than call first who may down side been now find any ' +
  'new work part take get place made live where after back little only round man year came show every good me give ' +
  'our under name very through just form sentence great think say help low line turn cause much mean before move ' +
  'right boy old too same tell does set three want air well also play small end put home read hand large add even ' +
  'land here must big high such follow act why ask men change went light kind off need house picture try us again ' +
  'animal point mother world near build self earth father head stand own page should country found answer school ' +
  'grow study still learn plant cover food sun four between state keep keeps eye never last let thought city tree ' +
  'cross farm hard start might story saw far sea draw left late run while press close night real life few north open ' +
  'seem together next white children begin got walk example paper group always music those both mark often letter ' +
  'until mile river car feet care second book carry took science eat room friend began idea fish mountain stop once ' +
  'base hear horse cut sure watch color face wood main enough girl young ready above ever red list though feel talk ' +
  'bird soon body dog family leave song door black short class wind question happen complete ship area half rock ' +
  'order fire south problem piece told knew pass since top whole king space heard best hour better true during ' +
  'hundred five remember step early hold west ground reach fast sing listen six table travel less morning ten simple ' +
  'toward war against slow center love person money serve road map rain rule cold voice power town fine fly fall ' +
  'lead dark machine note wait plan star box field rest correct able done drive front teach week final gave green ' +
  'quick ocean warm free minute strong special mind behind clear fact street cat sat mat hat hello model models test ' +
  'token text search query document vector embedding data file server cache memory brown fox jumps lazy hearth ' +
  'fast slow yes zero seven eight nine'
)
  .split(' ')
  .filter((w) => w.length > 0);

const LETTERS = 'abcdefghijklmnopqrstuvwxyz'.split('');
const DIGITS = '0123456789'.split('');
/** ASCII punctuation; BertPreTokenizer makes each of these a word of its own. */
const PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~'.split('');
const SUFFIXES = ['s', 'es', 'ed', 'ing', 'er', 'ly', 'est', 'ion', 'ness', 'ment', 'able', 'ful', 'less'];

/**
 * The fixed part of the vocabulary: specials with their bert-base-uncased ids, then punctuation, digits, letters,
 * "##" letters/digits (so any lowercase ASCII text tokenizes without [UNK]), common words and suffixes.
 */
function baseVocab(): string[] {
  const tokens: string[] = [SPECIAL_TOKENS.pad];
  for (let i = 0; tokens.length < SPECIAL_IDS.unk; i++) tokens.push(`[unused${i}]`);
  tokens.push(SPECIAL_TOKENS.unk, SPECIAL_TOKENS.cls, SPECIAL_TOKENS.sep, SPECIAL_TOKENS.mask);
  const seen = new Set(tokens);
  const add = (t: string): void => {
    if (!seen.has(t)) {
      seen.add(t);
      tokens.push(t);
    }
  };
  for (const t of [...PUNCTUATION, ...DIGITS, ...LETTERS]) add(t);
  for (const t of [...LETTERS, ...DIGITS]) add(`##${t}`);
  for (const w of COMMON_WORDS) add(w);
  for (const s of SUFFIXES) add(`##${s}`);
  return tokens;
}

const BASE_VOCAB = baseVocab();

/** Size of the vocabulary without filler; the smallest accepted `vocabSize`. */
export const BASE_VOCAB_SIZE = BASE_VOCAB.length;

/**
 * The vocabulary in id order. Beyond the base set it is padded with letter pairs, then triples ("ab", "##ab", ...),
 * which are plausible word pieces, so a large vocabulary also shortens tokenizations as a real one does.
 */
export function buildVocab(vocabSize = BASE_VOCAB_SIZE): string[] {
  if (!Number.isInteger(vocabSize) || vocabSize < BASE_VOCAB_SIZE) {
    throw new RangeError(`vocabSize must be an integer >= ${BASE_VOCAB_SIZE} (the base WordPiece vocabulary), got ${vocabSize}`);
  }
  const tokens = BASE_VOCAB.slice(0, vocabSize);
  const seen = new Set(tokens);
  const push = (t: string): void => {
    if (tokens.length < vocabSize && !seen.has(t)) {
      seen.add(t);
      tokens.push(t);
    }
  };
  let stems = LETTERS;
  while (tokens.length < vocabSize) {
    stems = stems.flatMap((s) => LETTERS.map((c) => s + c));
    for (const s of stems) {
      push(s);
      push(`##${s}`);
      if (tokens.length >= vocabSize) break;
    }
  }
  return tokens;
}

/** vocab.txt: one token per line, line number = id, as in real BERT repos. */
export const vocabTxt = (vocab: readonly string[]): string => `${vocab.join('\n')}\n`;

const special = (content: string, id: number) => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: false,
  special: true,
});

const VOCAB_PLACEHOLDER = '\u0000vocab\u0000';

/**
 * tokenizer.json in the shape `tokenizers` saves for bert-base-uncased derivatives (as in all-MiniLM-L6-v2),
 * including its truncation and padding sections. The vocab object is written by hand so it stays in id order:
 * JSON.stringify would hoist integer-like keys ("0".."9") to the front.
 */
export function tokenizerJson(vocab: readonly string[], maxSeqLength: number): string {
  const spec = (token: string, id: number) => ({ id: token, ids: [id], tokens: [token] });
  const json = {
    version: '1.0',
    truncation: { direction: 'Right', max_length: maxSeqLength, strategy: 'LongestFirst', stride: 0 },
    padding: { strategy: 'BatchLongest', direction: 'Right', pad_to_multiple_of: null, pad_id: SPECIAL_IDS.pad, pad_type_id: 0, pad_token: SPECIAL_TOKENS.pad },
    added_tokens: (['pad', 'unk', 'cls', 'sep', 'mask'] as const).map((k) => special(SPECIAL_TOKENS[k], SPECIAL_IDS[k])),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: { '[CLS]': spec('[CLS]', SPECIAL_IDS.cls), '[SEP]': spec('[SEP]', SPECIAL_IDS.sep) },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: VOCAB_PLACEHOLDER },
  };
  const entries = vocab.map((t, id) => `      ${JSON.stringify(t)}: ${id}`).join(',\n');
  return JSON.stringify(json, null, 2).replace(JSON.stringify(VOCAB_PLACEHOLDER), `{\n${entries}\n    }`);
}

/** tokenizer_config.json as transformers writes it for BertTokenizer(Fast). */
export function tokenizerConfigJson(modelMaxLength: number): string {
  return JSON.stringify(
    {
      clean_up_tokenization_spaces: true,
      cls_token: SPECIAL_TOKENS.cls,
      do_basic_tokenize: true,
      do_lower_case: true,
      mask_token: SPECIAL_TOKENS.mask,
      model_max_length: modelMaxLength,
      never_split: null,
      pad_token: SPECIAL_TOKENS.pad,
      sep_token: SPECIAL_TOKENS.sep,
      strip_accents: null,
      tokenize_chinese_chars: true,
      tokenizer_class: 'BertTokenizer',
      unk_token: SPECIAL_TOKENS.unk,
    },
    null,
    2,
  );
}

export const specialTokensMapJson = (): string =>
  JSON.stringify(
    { cls_token: SPECIAL_TOKENS.cls, mask_token: SPECIAL_TOKENS.mask, pad_token: SPECIAL_TOKENS.pad, sep_token: SPECIAL_TOKENS.sep, unk_token: SPECIAL_TOKENS.unk },
    null,
    2,
  );
