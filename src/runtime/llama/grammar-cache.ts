import type { GbnfJsonSchema, Llama, LlamaGrammar } from 'node-llama-cpp';
import { ANY_JSON_OBJECT, type OutputFormat } from '../json-schema-subset.js';

/** Compiled grammars kept per model; a client sending a new schema each time evicts the oldest. */
const MAX_GRAMMARS = 32;

/**
 * The grammars a model's requests ask for, compiled once each: an agent
 * sends the same schema with every turn, and compiling one costs a parse of
 * the generated GBNF in llama.cpp.
 */
export class GrammarCache {
  readonly #grammars = new Map<string, Promise<LlamaGrammar>>();

  constructor(private readonly llama: Llama) {}

  get(format: OutputFormat): Promise<LlamaGrammar> {
    const schema = format.type === 'json' ? ANY_JSON_OBJECT : format.schema;
    const key = JSON.stringify(schema);
    let grammar = this.#grammars.get(key);
    if (grammar) {
      // Most recently used last.
      this.#grammars.delete(key);
    } else {
      // The schema's shape was checked by grammarSchema(); node-llama-cpp's literal-typed generics cannot see it.
      grammar = this.llama.createGrammarForJsonSchema<GbnfJsonSchema>(schema as Readonly<GbnfJsonSchema> & GbnfJsonSchema);
      // A failed compile is not kept: the next request tries again and reports its own error.
      grammar.catch(() => this.#grammars.get(key) === grammar && this.#grammars.delete(key));
    }
    this.#grammars.set(key, grammar);
    while (this.#grammars.size > MAX_GRAMMARS) this.#grammars.delete(this.#grammars.keys().next().value!);
    return grammar;
  }
}
