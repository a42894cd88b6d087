import type { SpaceRecord } from '../../../spaces/index.js';

/** A space as the CLI shows it: everything but the probe vectors, which are only bytes to a reader. */
export function spaceSummary(record: SpaceRecord): Omit<SpaceRecord, 'probeVectors'> & { probes: number } {
  const { probeVectors, ...rest } = record;
  return { ...rest, probes: probeVectors.length };
}

/** The first 12 hex digits of a sha256, as git shortens commits: enough to tell two apart at a glance. */
export function short(hex: string): string {
  return hex.slice(0, 12);
}

/** The one-line description of a space that create and import print. */
export function oneLine(record: SpaceRecord): string {
  return [
    `model ${record.model.ref}`,
    `${record.model.dimensions} dims`,
    `model fingerprint ${short(record.fingerprints.model)}`,
    `runtime fingerprint ${short(record.fingerprints.runtime)}`,
    `${record.probeVectors.length} probes`,
  ].join(', ');
}

const SHA256 = /^[0-9a-f]{64}$/;

/** A record value for a table cell: strings as they are (digests shortened), the rest as JSON. */
export function cell(value: unknown): string {
  if (typeof value === 'string') return SHA256.test(value) ? short(value) : value;
  if (Array.isArray(value)) return value.map(cell).join(', ');
  return JSON.stringify(value) ?? '-';
}

/** What a space is, in the one sentence every `hearth space … --help` ends with. */
export const ABOUT_SPACES =
  "An embedding space records the model and runtime that made a set of vectors, with the vectors of hearth's fixed probe texts, so that any runtime can be measured against it (hearth space check) before its vectors are mixed with the stored ones.";
