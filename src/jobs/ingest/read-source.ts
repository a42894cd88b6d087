import { readFile, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { HearthError } from '../../errors/index.js';
import type { DocumentInput } from '../../memory/memory.js';

/** The formats hearth reads, by extension; any other file named on its own is read as text. */
const FORMATS = {
  '.txt': 'text',
  '.md': 'markdown',
  '.markdown': 'markdown',
  '.html': 'html',
  '.htm': 'html',
  '.json': 'json',
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.pdf': 'pdf',
} as const;
export type SourceFormat = (typeof FORMATS)[keyof typeof FORMATS];
export const SOURCE_EXTENSIONS = Object.keys(FORMATS);

/** A file larger than this is a dead letter rather than a process out of memory; 64 MiB of text is ~16M tokens. */
export const MAX_SOURCE_BYTES = 64 * 1024 * 1024;
/** How much of a text file is looked at for a NUL byte, as git and grep tell binary files from text. */
const SNIFF_BYTES = 8 * 1024;

export function formatOf(file: string): SourceFormat {
  return (FORMATS as Record<string, SourceFormat>)[extname(file).toLowerCase()] ?? 'text';
}

/**
 * A source file as documents, each with a stable id: the file's path, or
 * `path#key` for each record of a JSON or JSON Lines file (its own `id`,
 * else its line or position). A file that cannot be read as its format
 * is SOURCE_UNREADABLE, saying where: ingestion keeps it as a dead letter
 * and goes on.
 */
export async function readSource(file: string): Promise<DocumentInput[]> {
  const format = formatOf(file);
  const size = await stat(file).then((s) => s.size, (error: unknown) => unreadable(file, `cannot be read: ${(error as Error).message}`));
  if (size > MAX_SOURCE_BYTES) unreadable(file, `is ${size} bytes, over the ${MAX_SOURCE_BYTES}-byte limit for one source`);
  const bytes = await readFile(file).catch((error: unknown) => unreadable(file, `cannot be read: ${(error as Error).message}`));
  const base = { source: file, format };
  switch (format) {
    case 'pdf':
      return [{ id: file, text: nonEmpty(file, await pdfText(file, bytes)), metadata: base }];
    case 'html':
      return [{ id: file, text: nonEmpty(file, await htmlText(textOf(file, bytes))), metadata: base }];
    case 'json':
      return records(file, jsonRecords(file, textOf(file, bytes)), base);
    case 'jsonl':
      return records(file, jsonLines(file, textOf(file, bytes)), base);
    default:
      return [{ id: file, text: nonEmpty(file, textOf(file, bytes)), metadata: base }];
  }
}

function unreadable(file: string, reason: string): never {
  throw new HearthError('SOURCE_UNREADABLE', `${file}: ${reason}`, { details: { source: file, reason } });
}

function nonEmpty(file: string, text: string): string {
  if (text.trim() === '') unreadable(file, 'has no text');
  return text;
}

/** UTF-8, its byte-order mark dropped; a NUL byte early on means binary, not text. */
function textOf(file: string, bytes: Buffer): string {
  if (bytes.subarray(0, SNIFF_BYTES).includes(0)) unreadable(file, 'is binary (a NUL byte in its first 8 KiB), not text');
  return new TextDecoder('utf-8').decode(bytes);
}

async function pdfText(file: string, bytes: Buffer): Promise<string> {
  // Loaded on the first PDF: pdf.js is 2 MB of code an install without PDFs never needs.
  const { extractText, getDocumentProxy } = await import('unpdf');
  try {
    // verbosity 0: pdf.js would otherwise write its warnings to the console.
    const pdf = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0 });
    try {
      const { text } = await extractText(pdf, { mergePages: false });
      const pages = text.map((page) => page.trim()).filter(Boolean);
      if (pages.length === 0) unreadable(file, `has ${pdf.numPages} page(s) but no text layer (a scanned PDF needs OCR first)`);
      return pages.join('\n\n');
    } finally {
      await pdf.destroy();
    }
  } catch (error) {
    if (error instanceof HearthError) throw error;
    return unreadable(file, `is not a readable PDF: ${(error as Error).message}`);
  }
}

async function htmlText(html: string): Promise<string> {
  const { convert } = await import('html-to-text');
  // Links keep their text, not their URLs; images and scripts carry no text to embed.
  return convert(html, { wordwrap: false, selectors: [{ selector: 'a', options: { ignoreHref: true } }, { selector: 'img', format: 'skip' }] });
}

/** A JSON file: one record, or an array of them. */
function jsonRecords(file: string, text: string): Array<{ key: string; value: unknown }> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return unreadable(file, `is not JSON: ${(error as Error).message}`);
  }
  return Array.isArray(parsed) ? parsed.map((value, i) => ({ key: `[${i}]`, value })) : [{ key: '', value: parsed }];
}

/** JSON Lines: a record per non-blank line; a bad line makes the whole file a dead letter, naming the line. */
function jsonLines(file: string, text: string): Array<{ key: string; value: unknown }> {
  const out: Array<{ key: string; value: unknown }> = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      out.push({ key: `L${i + 1}`, value: JSON.parse(line) });
    } catch (error) {
      unreadable(file, `line ${i + 1} is not JSON: ${(error as Error).message}`);
    }
  });
  return out;
}

/**
 * Records as documents: a string is a document's text; an object has `text`
 * (or `content`), and may have `id` and a `metadata` object. Anything else
 * names its record.
 */
function records(file: string, items: Array<{ key: string; value: unknown }>, base: Record<string, unknown>): DocumentInput[] {
  if (items.length === 0) unreadable(file, 'holds no record');
  const ids = new Set<string>();
  return items.map(({ key, value }) => {
    const where = key === '' ? '' : ` ${key}`;
    const record = typeof value === 'string' ? { text: value } : value;
    if (typeof record !== 'object' || record === null || Array.isArray(record)) unreadable(file, `record${where} is not a string or an object`);
    const { text = (record as { content?: unknown }).content, id, metadata = {} } = record as { text?: unknown; id?: unknown; metadata?: unknown };
    if (typeof text !== 'string' || text.trim() === '') unreadable(file, `record${where} has no "text" (or "content") string`);
    if (id !== undefined && typeof id !== 'string' && typeof id !== 'number') unreadable(file, `record${where}: "id" must be a string or a number`);
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) unreadable(file, `record${where}: "metadata" must be an object`);
    const docId = key === '' && id === undefined ? file : `${file}#${id ?? key}`;
    if (ids.has(docId)) unreadable(file, `record${where}: id ${String(id)} appears twice`);
    ids.add(docId);
    return { id: docId, text, metadata: { ...(metadata as Record<string, unknown>), ...base, ...(key === '' ? {} : { record: id ?? key }) } };
  });
}
