export { errorCodes, type ErrorCode } from './codes.js';
export { HearthError, isHearthError, toHearthError, isAbortError, throwIfAborted, abortError, type HearthErrorOptions } from './hearth-error.js';
export { parseInput } from './parse-input.js';
