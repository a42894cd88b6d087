import { errorCodes, type ErrorCode } from './codes.js';

export interface HearthErrorOptions {
  cause?: unknown;
  /** Structured, JSON-safe facts for clients (never secrets). */
  details?: Record<string, unknown>;
  /** What the user should do next, shown by the CLI and returned by the API. */
  hint?: string;
}

/** The single error type hearth throws across module boundaries; `code` says which. */
export class HearthError extends Error {
  override readonly name = 'HearthError';
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: HearthErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
    this.hint = options.hint;
  }

  get httpStatus(): number {
    return errorCodes[this.code].status;
  }

  get exitCode(): number {
    return errorCodes[this.code].exit;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, hint: this.hint, details: this.details };
  }
}

export function isHearthError(error: unknown, code?: ErrorCode): error is HearthError {
  return error instanceof HearthError && (code === undefined || error.code === code);
}

/** Wraps anything thrown into a HearthError, keeping the original as `cause`. */
export function toHearthError(error: unknown): HearthError {
  if (error instanceof HearthError) return error;
  if (isAbortError(error)) return new HearthError('ABORTED', 'operation aborted', { cause: error });
  const errno = (error as NodeJS.ErrnoException | undefined)?.code;
  if (errno === 'ENOSPC' || errno === 'EDQUOT') {
    return new HearthError('DISK_FULL', 'the disk is full', { cause: error });
  }
  if (typeof errno === 'string' && errno.startsWith('E')) {
    return new HearthError('IO_ERROR', (error as Error).message, { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new HearthError('INTERNAL', message, { cause: error });
}

export function isAbortError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || (error as { code?: string }).code === 'ABORT_ERR');
}

/** Throws if the signal has fired; call between steps of long operations. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortError(signal);
}

/**
 * The error an aborted operation ends with: the signal's own reason when it
 * is typed (a server shutting down says SHUTTING_DOWN, not "aborted"), else ABORTED.
 */
export function abortError(signal: AbortSignal): HearthError {
  return signal.reason instanceof HearthError ? signal.reason : new HearthError('ABORTED', 'operation aborted', { cause: signal.reason });
}
