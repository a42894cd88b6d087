import { HearthError } from '../errors/index.js';
import { decodeVectorBytes, encodeVectorBytes, modelFingerprint, probesFingerprint, runtimeFingerprint } from './fingerprint.js';
import { AUDIO_PROBE_SET_ID } from './audio-probe-set.js';
import { PROBE_SET_ID } from './probe-set.js';
import { probeCount } from './probe-sets.js';
import { assertSpaceName } from './space-name.js';
import { spaceFileSchema, type SpaceRecord } from './space-record.js';

/** The JSON text of a space, as stored and exported: small, readable, and self-checking. */
export function encodeSpace(record: SpaceRecord): string {
  const file = { ...record, probeVectors: record.probeVectors.map((v) => encodeVectorBytes(v).toString('base64')) };
  return `${JSON.stringify(file, null, 2)}\n`;
}

/**
 * Reads a space's JSON text and proves it consistent: its schema, its probe
 * set, a vector per probe of the recorded dimensions, every value finite and
 * no vector zero, and each fingerprint equal to the one recomputed from the
 * content. A truncated, edited or hand-made file is refused with
 * SPACE_FILE_INVALID, so a space that loads can be trusted to mean what it says.
 */
export function decodeSpace(text: string, source: string): SpaceRecord {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw invalid(source, `it is not JSON (${(error as Error).message}); a truncated or damaged file reads this way`, error);
  }
  const parsed = spaceFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw invalid(source, `${issue.path.join('.') || 'the file'}: ${issue.message}`, parsed.error);
  }
  const file = parsed.data;
  assertSpaceName(file.name);
  const probes = probeCount(file.probeSet);
  if (probes === undefined) {
    throw invalid(source, `its probe set ${file.probeSet.id} is not one this hearth checks with (${PROBE_SET_ID} for text, ${AUDIO_PROBE_SET_ID} for speaker models), or its content differs`);
  }
  if (file.probeVectors.length !== probes) {
    throw invalid(source, `it holds ${file.probeVectors.length} probe vectors; the probe set has ${probes}`);
  }
  const probeVectors = file.probeVectors.map((b64, i) => {
    const bytes = Buffer.from(b64, 'base64');
    if (bytes.length !== file.model.dimensions * 4) throw invalid(source, `probe vector ${i} has ${bytes.length / 4} dimensions; the space has ${file.model.dimensions}`);
    const vector = decodeVectorBytes(bytes);
    if (!vector.every(Number.isFinite) || vector.every((v) => v === 0)) throw invalid(source, `probe vector ${i} is not finite or is zero`);
    return vector;
  });
  const record: SpaceRecord = { ...file, probeVectors };
  const recomputed = {
    model: modelFingerprint(record.model),
    runtime: runtimeFingerprint(record.runtime),
    probes: probesFingerprint(record.probeSet, probeVectors),
  };
  for (const key of ['model', 'runtime', 'probes'] as const) {
    if (recomputed[key] !== file.fingerprints[key]) {
      throw invalid(source, `its ${key} fingerprint does not match its content (the file was edited or damaged)`, undefined, {
        field: `fingerprints.${key}`,
        recorded: file.fingerprints[key],
        computed: recomputed[key],
      });
    }
  }
  return record;
}

function invalid(source: string, why: string, cause?: unknown, details?: Record<string, unknown>): HearthError {
  return new HearthError('SPACE_FILE_INVALID', `${source} is not a valid hearth space: ${why}`, {
    cause,
    details: { source, ...details },
    hint: 'export the space again on the machine that made it (hearth space export NAME)',
  });
}
