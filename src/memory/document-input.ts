import { createHash } from 'node:crypto';
import { HearthError } from '../errors/index.js';
import { writeVector } from './pg-binary.js';

/**
 * A document to add: its text, an id (the content hash when absent) and
 * metadata. With `vector`, the document is stored as it is, one chunk with
 * that vector (the bulk path for embeddings made elsewhere): it is checked
 * for dimensions, finiteness and norm, and its token count is recorded as 0.
 */
export interface DocumentInput {
  id?: string | undefined;
  text: string;
  metadata?: Record<string, unknown> | undefined;
  vector?: ArrayLike<number> | undefined;
}

export interface NormalizedDocument {
  id: string;
  text: string;
  /** sha256 of the text, and of the vector's bytes when the document brings one. */
  hash: string;
  metadata: Record<string, unknown>;
  vector: ArrayLike<number> | undefined;
}

/** Checks documents and gives each its id and content hash; an id twice in one call is a USAGE error. */
export function normalizeDocuments(documents: readonly DocumentInput[]): NormalizedDocument[] {
  const ids = new Set<string>();
  return documents.map((doc, index) => {
    const normalized = normalizeDocument(doc, index);
    if (ids.has(normalized.id)) throw new HearthError('USAGE', `document id "${normalized.id}" appears twice in one request`, { details: { id: normalized.id } });
    ids.add(normalized.id);
    return normalized;
  });
}

function normalizeDocument(doc: DocumentInput, index: number): NormalizedDocument {
  if (typeof doc.text !== 'string' || doc.text.trim() === '') throw new HearthError('USAGE', `document ${doc.id ?? index} is empty`, { details: { index, id: doc.id } });
  const metadata = doc.metadata ?? {};
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) throw new HearthError('USAGE', `document ${doc.id ?? index}: metadata must be a JSON object`);
  const hasher = createHash('sha256').update(doc.text);
  // A new vector for the same text is a change: it must be written.
  if (doc.vector !== undefined) hasher.update(hashScratch(doc.vector));
  const hash = hasher.digest('hex');
  const id = doc.id ?? hash;
  if (id.length === 0 || id.length > 1024) throw new HearthError('USAGE', `document ids are 1 to 1,024 characters (document ${index})`);
  return { id, text: doc.text, hash, metadata, vector: doc.vector };
}

let scratch = Buffer.alloc(0);

/** The vector's encoded bytes (encodeVector's) in a buffer reused across documents: hashed at once, never kept. */
function hashScratch(vector: ArrayLike<number>): Buffer {
  const size = 4 + 4 * vector.length;
  if (scratch.length !== size) scratch = Buffer.allocUnsafe(size);
  writeVector(scratch, 0, vector);
  return scratch;
}
