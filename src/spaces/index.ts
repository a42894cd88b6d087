export { createSpaces, Spaces, type CheckReport, type ImportOptions, type SpacesOptions } from './spaces.js';
export { SpaceRegistry, type SpaceListing } from './space-registry.js';
export { assertSafeName, assertSpaceName, spaceNameOf, SAFE_NAME, SPACE_PREFIX } from './space-name.js';
export { TOLERANCE, type Verdict, type FieldDiff } from './contract.js';
export { compareProbes, kendallTauB, type ProbeAgreement } from './compare.js';
export { PROBES, PROBE_SET_ID, PROBE_SET_DIGEST } from './probe-set.js';
export { decodeSpace, encodeSpace } from './space-file.js';
export { modelFingerprint, runtimeFingerprint } from './fingerprint.js';
export type { SpaceModel, SpaceRecord, SpaceRuntime, SpaceFingerprints } from './space-record.js';
