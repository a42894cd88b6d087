import { isHearthError } from '../errors/index.js';
import { sleep } from '../lifecycle/abortable.js';
import type { Logger } from '../log/logger.js';

export interface RetryOptions {
  retries: number;
  signal?: AbortSignal | undefined;
  logger: Logger;
  what: string;
  baseMs?: number;
  maxMs?: number;
  /** Which failures another attempt may fix; isRetryable by default. */
  retryable?: (error: unknown) => boolean;
}

/** True for failures that another attempt may fix: network errors, 5xx, 429, stalled transfers. */
export function isRetryable(error: unknown): boolean {
  return isHearthError(error) && error.details.retryable === true;
}

/** Runs `attempt` with bounded exponential backoff and full jitter. */
export async function withRetry<T>(attempt: (n: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const base = options.baseMs ?? 500;
  const max = options.maxMs ?? 8000;
  for (let n = 0; ; n++) {
    try {
      return await attempt(n);
    } catch (error) {
      if (n >= options.retries || !(options.retryable ?? isRetryable)(error)) throw error;
      const delay = Math.round(Math.min(max, base * 2 ** n) * (0.5 + Math.random() / 2));
      options.logger.warn({ attempt: n + 1, retries: options.retries, delayMs: delay, err: (error as Error).message }, `retrying ${options.what}`);
      await sleep(delay, options.signal);
    }
  }
}
