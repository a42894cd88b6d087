import { join } from 'node:path';
import { HearthError, isHearthError } from '../errors/index.js';
import { SingleFlight } from '../lifecycle/single-flight.js';
import type { Logger } from '../log/logger.js';
import type { Lease } from '../pool/model-pool.js';
import { compareProbes, type ProbeAgreement } from './compare.js';
import { diffFields, judge, TOLERANCE, type FieldDiff, type Verdict } from './contract.js';
import { modelFacts, runtimeFacts } from './facts.js';
import { modelFingerprint, probesFingerprint, runtimeFingerprint } from './fingerprint.js';
import { embedProbeSet, probeSetFor, type ProbeSetRef } from './probe-sets.js';
import { decodeSpace, encodeSpace } from './space-file.js';
import { assertSpaceName } from './space-name.js';
import type { SpaceModel, SpaceRecord, SpaceRuntime } from './space-record.js';
import { SpaceRegistry, type SpaceListing } from './space-registry.js';

export interface SpacesOptions {
  /** hearth's home; spaces live in its `spaces/` folder. */
  home: string;
  logger: Logger;
  /**
   * How a space reaches its model: the pool's acquire for the CLI, the
   * server's queue-aware lease for requests. Given the store reference a space records.
   */
  acquire: (ref: string, options: { signal?: AbortSignal | undefined; keepAlive?: string | number | null | undefined }) => Promise<Lease>;
}

/** A probe check: how the runtime at hand compares with the one that made a space. */
export interface CheckReport {
  space: string;
  verdict: Verdict;
  reasons: string[];
  /** The model and runtime that were checked. */
  current: { model: SpaceModel; runtime: SpaceRuntime };
  fingerprints: { space: { model: string; runtime: string }; current: { model: string; runtime: string } };
  /** Every field of the model and runtime records that differs, space value against current one. */
  diff: FieldDiff[];
  /** The probe measurements; absent when the dimensions differ and nothing can be compared. */
  probes: ProbeAgreement | undefined;
  contract: typeof TOLERANCE;
  checkedAt: string;
  durationMs: number;
}

export interface ImportOptions {
  /** Store it under another name. */
  name?: string | undefined;
  /** Where this machine finds the model (its files must be the same bytes: the model fingerprint still decides). */
  model?: string | undefined;
  /** Replace a space of the same name. */
  force?: boolean | undefined;
}

/**
 * Embedding spaces: a record of the model and runtime that made a
 * collection's vectors, and a probe check that tells whether the runtime at
 * hand would make the same ones. Checks are cached per space and runtime
 * identity, so guarding every embedding request costs a map lookup after the first.
 */
export class Spaces {
  readonly registry: SpaceRegistry;
  readonly #checks = new Map<string, CheckReport>();
  readonly #flights = new SingleFlight<string, CheckReport>();

  constructor(private readonly options: SpacesOptions) {
    this.registry = new SpaceRegistry(join(options.home, 'spaces'));
  }

  list(): Promise<SpaceListing[]> {
    return this.registry.list();
  }

  get(name: string): Promise<SpaceRecord> {
    return this.registry.get(name);
  }

  async remove(name: string): Promise<void> {
    await this.registry.remove(name);
    this.#forget(name);
  }

  /** Embeds the probes with `model` as it runs here and stores the space; nothing is stored if any probe vector is invalid. */
  async create(name: string, model: string, options: { signal?: AbortSignal | undefined } = {}): Promise<SpaceRecord> {
    // Fails fast on a taken name; the exclusive write at the end is what really guards it.
    await this.registry.assertFree(name);
    const lease = await this.options.acquire(model, options);
    let record: SpaceRecord;
    try {
      const probeSet = probeSetFor(lease.model);
      const vectors = await this.#embedProbes(lease, probeSet, options.signal);
      const facts = await modelFacts(lease.resolved, lease.model, vectors[0]!.length, options.signal);
      const runtime = runtimeFacts(lease.model);
      record = {
        format: 'hearth-space',
        version: 1,
        name,
        createdAt: new Date().toISOString(),
        model: facts,
        runtime,
        probeSet,
        probeVectors: vectors,
        fingerprints: { model: modelFingerprint(facts), runtime: runtimeFingerprint(runtime), probes: probesFingerprint(probeSet, vectors) },
      };
      await this.registry.create(record);
      // The runtime that made the probes is the one at hand: its check is known without embedding them again.
      this.#checks.set(await this.#cacheKey(record, lease, options.signal), report(record, { model: facts, runtime }, vectors, performance.now()));
    } finally {
      lease.release();
    }
    this.options.logger.info({ space: name, model: record.model.ref, fingerprints: record.fingerprints }, 'embedding space created');
    return record;
  }

  /** Checks a space against its model (or `model`, another copy or candidate) as this process runs it. */
  async check(name: string, options: { model?: string | undefined; signal?: AbortSignal | undefined } = {}): Promise<CheckReport> {
    const record = await this.registry.get(name);
    const lease = await this.options.acquire(options.model ?? record.model.ref, options);
    try {
      return await this.checkLease(record, lease, options.signal);
    } finally {
      lease.release();
    }
  }

  /**
   * The check of `record` against the leased model, measured once per
   * space and runtime identity and then answered from memory; concurrent
   * first callers share one measurement.
   */
  async checkLease(record: SpaceRecord, lease: Lease, signal?: AbortSignal): Promise<CheckReport> {
    const key = await this.#cacheKey(record, lease, signal);
    const cached = this.#checks.get(key);
    if (cached) return cached;
    return this.#flights.run(
      key,
      async (s) => {
        const report = await this.#measure(record, lease, s);
        this.#checks.set(key, report);
        // At info: the surfaces report the verdict themselves (the CLI's output, the server's SPACE_MISMATCH).
        this.options.logger.info({ space: record.name, verdict: report.verdict, reasons: report.reasons, diff: report.diff }, 'embedding space checked');
        return report;
      },
      signal,
    );
  }

  /**
   * The guard on an embedding request that names a space: resolves when the
   * leased runtime would make vectors the space can use, and fails with
   * SPACE_MISMATCH, carrying the verdict and the diff, when it would not.
   */
  async guard(record: SpaceRecord, lease: Lease, signal?: AbortSignal): Promise<CheckReport> {
    const report = await this.checkLease(record, lease, signal);
    if (report.verdict === 'incompatible') throw mismatch(report);
    return report;
  }

  /**
   * Leases a space's model for work under its guard (embedding requests,
   * collection writes and queries): the lease comes back only when the
   * runtime passes the space's check; the caller releases it.
   */
  async guardedLease(record: SpaceRecord, options: { signal?: AbortSignal | undefined; keepAlive?: string | number | null | undefined } = {}): Promise<{ lease: Lease; report: CheckReport }> {
    const lease = await this.options.acquire(record.model.ref, options);
    try {
      return { lease, report: await this.guard(record, lease, options.signal) };
    } catch (error) {
      lease.release();
      throw error;
    }
  }

  /**
   * Checks, ahead of any request, every space whose model `accept`s (the
   * server's warm preloads), so the first request naming one finds its
   * verdict cached. Never throws: an incompatible space or a broken file is
   * logged, and its requests will fail with the typed error themselves.
   */
  async warm(accept: (record: SpaceRecord) => boolean, signal?: AbortSignal): Promise<void> {
    const listings = await this.registry.list().catch((error: unknown) => {
      this.options.logger.warn({ err: (error as Error).message }, 'cannot list the embedding spaces');
      return [];
    });
    for (const { name, record, error } of listings) {
      if (signal?.aborted) return;
      if (error) {
        this.options.logger.warn({ space: name, code: error.code, err: error.message }, 'embedding space cannot be read');
        continue;
      }
      if (!accept(record)) continue;
      try {
        const { lease, report } = await this.guardedLease(record, { signal });
        lease.release();
        this.options.logger.info({ space: name, verdict: report.verdict }, 'embedding space ready');
      } catch (err) {
        const code = isHearthError(err) ? err.code : undefined;
        this.options.logger.warn({ space: name, code, err: (err as Error).message }, 'embedding space cannot be served here');
      }
    }
  }

  async export(name: string): Promise<string> {
    return encodeSpace(await this.registry.get(name));
  }

  /**
   * Reads a space file made anywhere. It is refused unless its fingerprints
   * match its content; renaming it or pointing it at this machine's copy of
   * the model changes neither fingerprint, so the check still judges it.
   */
  async import(text: string, source: string, options: ImportOptions = {}): Promise<SpaceRecord> {
    const read = decodeSpace(text, source);
    const record: SpaceRecord = {
      ...read,
      name: options.name === undefined ? read.name : assertSpaceName(options.name),
      model: options.model === undefined ? read.model : { ...read.model, ref: options.model },
    };
    if (options.force) await this.registry.put(record);
    else await this.registry.create(record);
    this.#forget(record.name);
    return record;
  }

  async #measure(record: SpaceRecord, lease: Lease, signal: AbortSignal): Promise<CheckReport> {
    const started = performance.now();
    const vectors = await this.#embedProbes(lease, record.probeSet, signal);
    const model = await modelFacts(lease.resolved, lease.model, vectors[0]!.length, signal);
    return report(record, { model, runtime: runtimeFacts(lease.model) }, vectors, started);
  }

  /** The probes' vectors; a NaN or zero vector fails loudly (SPACE_PROBE_INVALID) and is never stored or compared. */
  async #embedProbes(lease: Lease, probeSet: ProbeSetRef, signal: AbortSignal | undefined): Promise<Float32Array[]> {
    try {
      const vectors = await embedProbeSet(lease.model, probeSet, lease.resolved.ref, signal);
      // Engines refuse such vectors themselves; checked again here because a space must never store or compare one.
      vectors.forEach((vector, i) => {
        if (vector.length === 0 || !vector.every(Number.isFinite) || vector.every((v) => v === 0)) {
          throw new HearthError('INFERENCE_FAILED', `probe ${i} came out ${vector.every(Number.isFinite) ? 'a zero vector' : 'with NaN or infinite values'}`);
        }
      });
      return vectors;
    } catch (error) {
      if (isHearthError(error, 'INFERENCE_FAILED')) {
        throw new HearthError('SPACE_PROBE_INVALID', `${lease.resolved.ref} made an invalid probe vector: ${error.message}`, {
          cause: error,
          details: { model: lease.resolved.ref },
          hint: 'this runtime cannot serve the space; check the model file (hearth verify) and the runtime (hearth doctor)',
        });
      }
      throw error;
    }
  }

  /** What decides a check's outcome: the space's record and the leased model's facts and runtime. */
  async #cacheKey(record: SpaceRecord, lease: Lease, signal: AbortSignal | undefined): Promise<string> {
    const model = await modelFacts(lease.resolved, lease.model, record.model.dimensions, signal);
    return [record.name, record.fingerprints.model, record.fingerprints.runtime, record.fingerprints.probes, modelFingerprint(model), runtimeFingerprint(runtimeFacts(lease.model))].join('|');
  }

  #forget(name: string): void {
    for (const key of this.#checks.keys()) if (key.startsWith(`${name}|`)) this.#checks.delete(key);
  }
}

/** A check's report: `vectors`, embedded by the runtime `current` describes, judged against the space's record. */
function report(record: SpaceRecord, current: { model: SpaceModel; runtime: SpaceRuntime }, vectors: readonly Float32Array[], started: number): CheckReport {
  const { model, runtime } = current;
  const diff = [...diffFields('model', record.model, model, ['ref']), ...diffFields('runtime', record.runtime, runtime)];
  const probes = model.dimensions === record.model.dimensions ? compareProbes(record.probeVectors, vectors) : undefined;
  const { verdict, reasons } = judge({ modelDiff: diff.filter((d) => d.field.startsWith('model.')), agreement: probes });
  return {
    space: record.name,
    verdict,
    reasons,
    current,
    fingerprints: {
      space: { model: record.fingerprints.model, runtime: record.fingerprints.runtime },
      current: { model: modelFingerprint(model), runtime: runtimeFingerprint(runtime) },
    },
    diff,
    probes,
    contract: TOLERANCE,
    checkedAt: new Date().toISOString(),
    durationMs: Math.round(performance.now() - started),
  };
}

export function createSpaces(options: SpacesOptions): Spaces {
  return new Spaces(options);
}

function mismatch(report: CheckReport): HearthError {
  return new HearthError('SPACE_MISMATCH', `this runtime would make vectors that space "${report.space}" cannot use: ${report.reasons.join('; ')}`, {
    details: {
      space: report.space,
      verdict: report.verdict,
      reasons: report.reasons,
      diff: report.diff,
      probes: report.probes && { min: report.probes.min, mean: report.probes.mean, p5: report.probes.p5, rankTau: report.probes.rankTau },
    },
    hint: `run hearth space check ${report.space} for the full report; re-embed into a new space if the model or runtime changed on purpose`,
  });
}
