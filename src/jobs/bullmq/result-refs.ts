import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import type { Redis } from 'ioredis';

const pack = promisify(gzip);
const unpack = promisify(gunzip);

/** A result larger than this, as JSON, is parked under a key of its own; smaller ones travel in the job as they are. */
export const REF_BYTES = 16 * 1024;
/** Parked results outlive any job that waits for them; the parent's completion removes them sooner. */
const TTL_SECONDS = 7 * 24 * 3600;

interface Ref {
  $hearthResult: string;
}

function isRef(value: unknown): value is Ref {
  return typeof value === 'object' && value !== null && typeof (value as Ref).$hearthResult === 'string';
}

/**
 * Chunk results by reference: BullMQ keeps every child's return value in its
 * parent's hash and reads them all back at once, so a large one (a chunk's
 * cleaned text, many KB) goes gzipped to a key of its own and the job
 * carries only the key. The parent resolves them in one MGET; the keys go
 * when it has completed.
 */
export class ResultRefs {
  constructor(
    private readonly redis: Redis,
    private readonly keyOf: (jobId: string) => string,
  ) {}

  async park(jobId: string, value: unknown): Promise<unknown> {
    const json = JSON.stringify(value ?? null);
    if (Buffer.byteLength(json) <= REF_BYTES) return value;
    const key = this.keyOf(jobId);
    await this.redis.set(key, await pack(json), 'EX', TTL_SECONDS);
    return { $hearthResult: key } satisfies Ref;
  }

  async resolve(values: readonly unknown[]): Promise<unknown[]> {
    const refs = values.filter(isRef).map((r) => r.$hearthResult);
    if (refs.length === 0) return [...values];
    const stored = await this.redis.mgetBuffer(...refs);
    const byKey = new Map<string, unknown>();
    for (const [i, buffer] of stored.entries()) {
      if (!buffer) throw new Error(`the parked result ${refs[i]} is gone (expired, or removed with its job)`);
      byKey.set(refs[i]!, JSON.parse((await unpack(buffer)).toString('utf8')));
    }
    return values.map((v) => (isRef(v) ? byKey.get(v.$hearthResult) : v));
  }

  /** Removes the parked results among these values (once nothing will read them again). */
  async drop(values: readonly unknown[]): Promise<void> {
    const refs = values.filter(isRef).map((r) => r.$hearthResult);
    if (refs.length > 0) await this.redis.del(...refs);
  }
}
