/**
 * The one registry of error codes. A code is a stable public contract: clients,
 * scripts and the HTTP layer branch on it, so never rename one; add new ones.
 *
 * `exit` follows sysexits(3) where a category fits; OFFLINE_NOT_CACHED has an
 * exit code of its own (68) so that scripts can tell "needs a pull" apart.
 */
export const errorCodes = {
  CONFIG_INVALID: { status: 500, exit: 78, title: 'invalid configuration' },
  USAGE: { status: 400, exit: 64, title: 'invalid usage' },
  REF_INVALID: { status: 400, exit: 64, title: 'invalid model reference' },
  REF_UNSAFE: { status: 400, exit: 64, title: 'model reference escapes the store' },
  REF_AMBIGUOUS: { status: 400, exit: 64, title: 'model reference is ambiguous' },
  MODEL_NOT_FOUND: { status: 404, exit: 66, title: 'model not found' },
  NOT_CACHED: { status: 404, exit: 66, title: 'model is not in the store' },
  OFFLINE_NOT_CACHED: { status: 404, exit: 68, title: 'offline and model is not cached' },
  HUB_AUTH_REQUIRED: { status: 401, exit: 77, title: 'hub refused the credentials' },
  HUB_UNAVAILABLE: { status: 502, exit: 69, title: 'hub unreachable' },
  HUB_PROTOCOL: { status: 502, exit: 76, title: 'unexpected hub response' },
  SERVER_UNREACHABLE: { status: 502, exit: 69, title: 'hearth server unreachable' },
  DIGEST_MISMATCH: { status: 502, exit: 65, title: 'downloaded bytes do not match their digest' },
  BLOB_CORRUPT: { status: 500, exit: 65, title: 'stored blob is corrupt' },
  BUNDLE_INVALID: { status: 400, exit: 65, title: 'invalid bundle' },
  DISK_SPACE_INSUFFICIENT: { status: 507, exit: 73, title: 'not enough free disk space' },
  DISK_FULL: { status: 507, exit: 73, title: 'disk full' },
  IO_ERROR: { status: 500, exit: 74, title: 'filesystem error' },
  MODEL_TOO_LARGE: { status: 507, exit: 73, title: 'model does not fit the memory budget' },
  MODEL_LOAD_FAILED: { status: 500, exit: 70, title: 'model failed to load' },
  MODEL_UNSUPPORTED: { status: 400, exit: 65, title: 'model cannot do this' },
  DEVICE_UNAVAILABLE: { status: 500, exit: 69, title: 'requested device is not available' },
  /** A configured CPU kernel variant this CPU or process cannot run: a configuration problem, so EX_CONFIG; 503 as the server cannot serve GGUF. */
  CPU_VARIANT_UNSUPPORTED: { status: 503, exit: 78, title: 'configured CPU kernel variant cannot run here' },
  INPUT_TOO_LONG: { status: 400, exit: 65, title: 'input is longer than the context' },
  INFERENCE_FAILED: { status: 500, exit: 70, title: 'inference produced an invalid result' },
  BODY_TOO_LARGE: { status: 413, exit: 65, title: 'request body too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, exit: 65, title: 'unsupported content type' },
  ROUTE_NOT_FOUND: { status: 404, exit: 64, title: 'no such endpoint' },
  QUEUE_FULL: { status: 503, exit: 75, title: 'too many requests queued for this model' },
  POOL_FULL: { status: 503, exit: 75, title: 'no room to load another model' },
  MODEL_PINNED: { status: 409, exit: 75, title: 'model is preloaded by the operator' },
  STORE_BUSY: { status: 409, exit: 75, title: 'a pull is writing into this part of the store' },
  SPACE_NOT_FOUND: { status: 404, exit: 66, title: 'embedding space not found' },
  SPACE_EXISTS: { status: 409, exit: 73, title: 'an embedding space of that name exists' },
  SPACE_NAME_INVALID: { status: 400, exit: 64, title: 'invalid embedding space name' },
  SPACE_FILE_INVALID: { status: 400, exit: 65, title: 'invalid or tampered space file' },
  SPACE_MISMATCH: { status: 409, exit: 65, title: 'this runtime would make vectors the space cannot use' },
  SPACE_PROBE_INVALID: { status: 500, exit: 70, title: 'a probe vector came out invalid' },
  SHUTTING_DOWN: { status: 503, exit: 75, title: 'the server is shutting down' },
  HOST_NOT_ALLOWED: { status: 403, exit: 77, title: 'host or origin not allowed' },
  TOO_MANY_INPUTS: { status: 400, exit: 65, title: 'too many inputs in one request' },
  UNAUTHORIZED: { status: 401, exit: 77, title: 'missing or wrong API key' },
  ABORTED: { status: 499, exit: 130, title: 'operation aborted' },
  INTERNAL: { status: 500, exit: 70, title: 'internal error' },
} as const satisfies Record<string, { status: number; exit: number; title: string }>;

export type ErrorCode = keyof typeof errorCodes;
