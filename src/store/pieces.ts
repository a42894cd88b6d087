import { readFile, rename, unlink, writeFile } from 'node:fs/promises';

/**
 * A file downloaded in pieces: fixed-size byte ranges, each with how many of
 * its bytes, from its start, are written. That prefix per piece is what a
 * resume keeps; the record on disk beside the partial says where each one
 * stands, and the validator (ETag) that the bytes came from.
 */
export interface PieceRecord {
  version: 1;
  size: number;
  pieceBytes: number;
  /** The server's validator for If-Range, so a resume never splices two versions of a file. */
  validator?: string | undefined;
  done: number[];
}

export class Pieces {
  readonly count: number;
  readonly done: number[];
  validator: string | undefined;
  /** Pieces wholly written, in order from piece 0: the file is contiguous up to `contiguous`. */
  #firstOpen = 0;

  constructor(
    readonly size: number,
    readonly pieceBytes: number,
    done?: readonly number[],
    validator?: string,
  ) {
    this.count = Math.max(1, Math.ceil(size / pieceBytes));
    this.done = Array.from({ length: this.count }, (_, i) => Math.min(done?.[i] ?? 0, this.length(i)));
    this.validator = validator;
    this.#advanceFirstOpen();
  }

  /** A plain prefix of `bytes` written in order (a sequential partial), as pieces. */
  static fromPrefix(size: number, pieceBytes: number, bytes: number): Pieces {
    const pieces = new Pieces(size, pieceBytes);
    for (let i = 0; i < pieces.count; i++) pieces.done[i] = Math.max(0, Math.min(pieces.length(i), bytes - pieces.start(i)));
    pieces.#advanceFirstOpen();
    return pieces;
  }

  start(i: number): number {
    return i * this.pieceBytes;
  }

  length(i: number): number {
    return Math.min(this.pieceBytes, this.size - this.start(i));
  }

  isComplete(i: number): boolean {
    return this.done[i] === this.length(i);
  }

  /** Bytes written in all pieces. */
  get written(): number {
    return this.done.reduce((a, b) => a + b, 0);
  }

  /** The end of the prefix of the file that is written without a gap. */
  get contiguous(): number {
    if (this.#firstOpen >= this.count) return this.size;
    return this.start(this.#firstOpen) + this.done[this.#firstOpen]!;
  }

  /** Records `n` more bytes written at the end of piece `i`'s prefix. */
  wrote(i: number, n: number): void {
    this.done[i]! += n;
    if (i === this.#firstOpen) this.#advanceFirstOpen();
  }

  /** Piece indexes with bytes still to fetch, in file order. */
  open(): number[] {
    return this.done.flatMap((d, i) => (d < this.length(i) ? [i] : []));
  }

  toRecord(): PieceRecord {
    return { version: 1, size: this.size, pieceBytes: this.pieceBytes, validator: this.validator, done: [...this.done] };
  }

  #advanceFirstOpen(): void {
    while (this.#firstOpen < this.count && this.isComplete(this.#firstOpen)) this.#firstOpen++;
  }
}

/** The record beside a partial: `<partial>.ranges`, claimed and removed with it. */
export function recordPath(partial: string): string {
  return `${partial.replace(/\.incomplete$/, '')}.ranges`;
}

/** The pieces a record describes, if it is one for a file of this size. */
export async function readPieceRecord(partial: string, size: number): Promise<Pieces | undefined> {
  const text = await readFile(recordPath(partial), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const record = JSON.parse(text) as PieceRecord;
    const valid =
      record.version === 1 &&
      record.size === size &&
      Number.isSafeInteger(record.pieceBytes) &&
      record.pieceBytes > 0 &&
      Array.isArray(record.done) &&
      record.done.every((d) => Number.isSafeInteger(d) && d >= 0);
    return valid ? new Pieces(size, record.pieceBytes, record.done, record.validator) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Saves the record by rename, so a reader sees the old one or the new one.
 * Not fsynced: it guards against a killed process, whose writes the page
 * cache keeps; after a power cut the final digest check catches what was lost.
 */
export async function writePieceRecord(partial: string, pieces: Pieces): Promise<void> {
  const path = recordPath(partial);
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(pieces.toRecord()));
  await rename(tmp, path);
}

export async function removePieceRecord(partial: string): Promise<void> {
  await unlink(recordPath(partial)).catch(() => undefined);
}
