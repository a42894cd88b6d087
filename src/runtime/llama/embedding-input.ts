import { LlamaVocabularyType, type LlamaModel } from 'node-llama-cpp';

/**
 * What llama.cpp evaluates for one embedding input. node-llama-cpp's
 * embedding context puts a beginning and an end token around the text's
 * tokens (LlamaEmbeddingContext._prepareInput), by rules it keeps in an
 * internal module (utils/tokenizerUtils.js) that its package does not
 * export; this mirrors them through the public vocabulary facts, so a
 * caller can size input before any context exists. The llama backend's
 * tests hold it to the embedder's own count.
 */
export function embeddingSpecialTokens(model: LlamaModel): number {
  const { tokens } = model;
  switch (model.vocabularyType) {
    case LlamaVocabularyType.rwkv:
      return 0;
    case LlamaVocabularyType.wpm:
      return present(tokens.bos) + present(tokens.sep);
    case LlamaVocabularyType.ugm:
      return present(tokens.eos);
    default:
      return (tokens.shouldPrependBosToken ? present(tokens.bos) : 0) + (tokens.shouldAppendEosToken ? present(tokens.eos) : 0);
  }
}

/** node-llama-cpp refuses an embedding input as long as the context, so the longest one is a token shorter. */
export function embeddingInputLimit(contextSize: number): number {
  return contextSize - 1;
}

const present = (token: unknown): number => (token === null || token === undefined ? 0 : 1);
