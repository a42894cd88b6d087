import type { Collection, Hit } from './collection-store.js';
import { chunkTable } from './collection-store.js';
import type { SqlEngine } from './engine.js';

/** A chunk that did not find itself first, and what came first instead. */
export interface SelfTestMiss {
  docId: string;
  chunk: number;
  got: { docId: string; chunk: number; similarity: number } | null;
}

export interface SelfTestReport {
  samples: number;
  found: number;
  misses: SelfTestMiss[];
}

/**
 * The retrieval self-test: sampled chunks are queried by their own text
 * (embedded again, as a user's query would be) and each must come back
 * first. A vector store whose vectors do not find their own text is broken,
 * whatever its counts say: a model that maps everything alike, a tokenizer
 * that is not the model's, vectors written for other texts. A hit on
 * another chunk of the very same text counts as found (duplicates tie).
 * Sampling is by a hash of the chunk's key, so a run is repeatable.
 */
export async function selfTest(
  engine: SqlEngine,
  collection: Collection,
  options: { docIds: readonly string[]; samples: number; query: (text: string) => Promise<Hit[]> },
): Promise<SelfTestReport> {
  if (options.docIds.length === 0 || options.samples <= 0) return { samples: 0, found: 0, misses: [] };
  const sampled = await engine.query<{ doc_id: string; chunk: number; text: string }>(
    `SELECT doc_id, chunk, text FROM ${chunkTable(collection)} WHERE doc_id = ANY($1::text[]) ORDER BY md5(doc_id || ':' || chunk) LIMIT $2`,
    [options.docIds, options.samples],
  );
  const misses: SelfTestMiss[] = [];
  for (const sample of sampled) {
    const [top] = await options.query(sample.text);
    const found = top !== undefined && ((top.docId === sample.doc_id && top.chunk === sample.chunk) || top.text === sample.text);
    if (!found) misses.push({ docId: sample.doc_id, chunk: sample.chunk, got: top ? { docId: top.docId, chunk: top.chunk, similarity: top.similarity } : null });
  }
  return { samples: sampled.length, found: sampled.length - misses.length, misses };
}
