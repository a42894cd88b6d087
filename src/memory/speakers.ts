import { HearthError, isHearthError } from '../errors/index.js';
import type { AudioInput } from '../runtime/types.js';
import type { Memory } from './memory.js';

/** The collection speakers go to when a request names none. */
export const DEFAULT_SPEAKER_COLLECTION = 'speakers';

export interface SpeakerRecord {
  name: string;
  /** Clips averaged into the voiceprint. */
  clips: number;
  /** Their total length. */
  seconds: number;
  enrolledAt: string;
}

export interface SpeakerMatch {
  name: string;
  /** Cosine similarity of the clip to the speaker's voiceprint. */
  score: number;
}

export interface Identification {
  matches: SpeakerMatch[];
  /** The best match when its score passes the threshold; null when nobody enrolled sounds like the clip. */
  speaker: string | null;
  threshold: number;
}

/**
 * Enrolled speakers, kept as documents of a vector-memory collection in the
 * speaker model's space: the document id is the speaker's name and its one
 * vector the mean of the enrollment clips' embeddings (the voiceprint). The
 * space makes a voiceprint trustworthy later: a runtime that would embed the
 * clips differently is refused (SPACE_MISMATCH) instead of matching wrongly.
 */
export class Speakers {
  constructor(private readonly memory: Memory) {}

  /**
   * Enrolls `name` from clips, replacing an earlier voiceprint of that name.
   * The collection is made on first use, in a new space of `model`.
   */
  async enroll(collection: string, name: string, clips: readonly AudioInput[], options: { model?: string | undefined; signal?: AbortSignal | undefined } = {}): Promise<SpeakerRecord> {
    assertSpeakerName(name);
    if (clips.length === 0) throw new HearthError('USAGE', `enrolling ${name} needs at least one clip`);
    await this.#ensureCollection(collection, options.model, options.signal);
    const vectors = await this.memory.embedAudio(collection, clips, { signal: options.signal });
    const seconds = clips.reduce((sum, clip) => sum + clip.channels[0]!.length / clip.sampleRate, 0);
    const enrolledAt = new Date().toISOString();
    await this.memory.add(collection, [{ id: name, text: name, metadata: { kind: 'speaker', clips: clips.length, seconds, enrolledAt }, vector: mean(vectors) }], options.signal);
    return { name, clips: clips.length, seconds, enrolledAt };
  }

  /** The enrolled speakers nearest to a clip's voice, best first, with the decision at `threshold`. */
  async identify(collection: string, clip: AudioInput, options: { topK: number; threshold: number; signal?: AbortSignal | undefined }): Promise<Identification> {
    const [vector] = await this.memory.embedAudio(collection, [clip], { signal: options.signal });
    const hits = await this.memory.query(collection, { vector, topK: options.topK, signal: options.signal });
    const matches = hits.map((hit) => ({ name: hit.docId, score: hit.similarity }));
    const best = matches[0];
    return { matches, speaker: best !== undefined && best.score > options.threshold ? best.name : null, threshold: options.threshold };
  }

  /** Every enrolled speaker, by name. */
  async list(collection: string): Promise<SpeakerRecord[]> {
    const out: SpeakerRecord[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.memory.documents(collection, { limit: 500, after });
      for (const doc of page) {
        const { clips, seconds, enrolledAt } = doc.metadata as { clips?: number; seconds?: number; enrolledAt?: string };
        out.push({ name: doc.docId, clips: clips ?? 0, seconds: seconds ?? 0, enrolledAt: enrolledAt ?? doc.createdAt });
      }
      if (page.length < 500) return out;
      after = page.at(-1)!.docId;
    }
  }

  async remove(collection: string, name: string): Promise<void> {
    if ((await this.memory.remove(collection, [name])) === 0) {
      throw new HearthError('SPEAKER_NOT_FOUND', `no speaker named ${JSON.stringify(name)} is enrolled in "${collection}"`, { details: { collection, name } });
    }
  }

  async #ensureCollection(collection: string, model: string | undefined, signal: AbortSignal | undefined): Promise<void> {
    try {
      await this.memory.get(collection);
      return;
    } catch (error) {
      if (!isHearthError(error, 'COLLECTION_NOT_FOUND')) throw error;
      if (model === undefined) {
        throw new HearthError('COLLECTION_NOT_FOUND', `speaker collection "${collection}" does not exist yet; name the speaker model on the first enrollment`, {
          cause: error,
          hint: 'pass "model" (HTTP) or --model (CLI), e.g. hf:speechbrain/spkrec-ecapa-voxceleb',
        });
      }
    }
    try {
      await this.memory.create(collection, { model }, signal);
    } catch (error) {
      // Another enrollment made it first: that is the collection this one wanted.
      if (!isHearthError(error, 'COLLECTION_EXISTS') && !isHearthError(error, 'SPACE_EXISTS')) throw error;
    }
  }
}

function assertSpeakerName(name: string): void {
  if (name.trim() === '' || name.length > 256 || /[\u0000-\u001f]/.test(name)) {
    throw new HearthError('USAGE', 'a speaker name must be 1 to 256 characters, without control characters', { details: { field: 'name' } });
  }
}

/** The element-wise mean: the usual voiceprint of several clips of one speaker. */
function mean(vectors: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(vectors[0]!.length);
  for (const v of vectors) for (let i = 0; i < out.length; i++) out[i]! += v[i]! / vectors.length;
  return out;
}
