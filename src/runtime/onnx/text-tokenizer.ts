import { readFile } from 'node:fs/promises';
import { Tokenizer } from '@huggingface/tokenizers';
import { HearthError } from '../../errors/index.js';
import type { StoredFile } from '../../store/index.js';
import { assertNotEmpty, checkTokenIds, inputTooLong } from '../input-limits.js';
import type { EmbedInput } from '../types.js';

export interface TokenizeOptions {
  /** Longest sequence, special tokens included. */
  maxTokens: number;
  truncate: boolean;
}

/**
 * The repo's own tokenizer.json, through Hugging Face's tokenizers for JS.
 * That library applies the post-processor (the [CLS] … [SEP] template) but no
 * truncation or padding, which hearth owns: over-long input is an error
 * unless truncation is asked for, and then the template's special tokens
 * survive the cut.
 */
export class TextTokenizer {
  private constructor(
    private readonly tokenizer: Tokenizer,
    /** Special tokens the template puts before and after the text. */
    readonly prefix: readonly number[],
    readonly suffix: readonly number[],
    readonly padId: number,
    readonly vocabSize: number,
  ) {}

  static async load(file: StoredFile, configFile: StoredFile | undefined, ref: string): Promise<TextTokenizer> {
    let tokenizer: Tokenizer;
    let json: { padding?: { pad_id?: number } | null };
    try {
      json = JSON.parse(await readFile(file.localPath, 'utf8')) as typeof json;
      const config = configFile ? (JSON.parse(await readFile(configFile.localPath, 'utf8')) as object) : {};
      tokenizer = new Tokenizer(json, config);
    } catch (error) {
      throw new HearthError('MODEL_LOAD_FAILED', `${ref}: cannot load ${file.path}: ${(error as Error).message}`, { cause: error, details: { ref, file: file.path } });
    }
    const { prefix, suffix } = templateOf(tokenizer, ref);
    const vocab = tokenizer.get_vocab(true);
    const padId = json.padding?.pad_id ?? ['[PAD]', '<pad>', '<|endoftext|>'].map((t) => vocab.get(t)).find((id) => id !== undefined) ?? 0;
    return new TextTokenizer(tokenizer, prefix, suffix, padId, Math.max(...vocab.values()) + 1);
  }

  /** The text's own tokens, without the template's special tokens: what encode() puts between prefix and suffix. */
  count(text: string): number {
    return this.#content(text).length;
  }

  /** Token ids with the template's special tokens; token-array input is taken as the text's tokens and gets them too. */
  encode(input: EmbedInput, index: number, options: TokenizeOptions): number[] {
    assertNotEmpty(input, index);
    const content = typeof input === 'string' ? this.#content(input) : checkTokenIds(input, index, this.vocabSize);
    const room = options.maxTokens - this.prefix.length - this.suffix.length;
    if (content.length > room) {
      const length = content.length + this.prefix.length + this.suffix.length;
      if (!options.truncate) throw inputTooLong(index, length, options.maxTokens);
      return [...this.prefix, ...content.slice(0, room), ...this.suffix];
    }
    return [...this.prefix, ...content, ...this.suffix];
  }

  #content(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }
}

/** Finds the template's special tokens by encoding a probe with and without them. */
function templateOf(tokenizer: Tokenizer, ref: string): { prefix: number[]; suffix: number[] } {
  const probe = 'hello world';
  const bare: number[] = tokenizer.encode(probe, { add_special_tokens: false }).ids;
  const full: number[] = tokenizer.encode(probe, { add_special_tokens: true }).ids;
  for (let start = 0; start + bare.length <= full.length; start++) {
    if (bare.every((id: number, i: number) => full[start + i] === id)) return { prefix: full.slice(0, start), suffix: full.slice(start + bare.length) };
  }
  throw new HearthError('MODEL_UNSUPPORTED', `${ref}: the tokenizer's template rewrites the text's tokens; hearth cannot truncate it safely`);
}
