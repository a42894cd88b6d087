import { parseDuration } from '../config/index.js';
import { HearthError } from '../errors/index.js';
import type { Clock } from './clock.js';

/** A keep-alive in milliseconds: 0 unloads after the request, a negative value keeps the model for ever. */
export type KeepAliveMs = number;

export interface KeepAlivePolicy {
  defaultMs: KeepAliveMs;
  /** Server-side ceiling; requests (including "for ever") are clamped to it. */
  maxMs: number | undefined;
}

/**
 * Beyond this a keep-alive means "for ever": its expiry would otherwise be
 * past the last date JavaScript can represent (a keep_alive of 1e308 seconds
 * once made /health answer 500).
 */
export const FOREVER_AFTER_MS = 1e12;

/**
 * Ollama's keep_alive semantics: a duration string ("5m", "1h") or a number
 * of seconds; 0 means unload now, negative (or more than ~31 years) means never unload.
 */
export function resolveKeepAlive(requested: string | number | undefined | null, policy: KeepAlivePolicy): KeepAliveMs {
  let ms = policy.defaultMs;
  if (requested !== undefined && requested !== null && requested !== '') {
    try {
      ms = parseDuration(requested);
    } catch (error) {
      throw new HearthError('USAGE', `invalid keep_alive ${JSON.stringify(requested)}: ${(error as Error).message}`, { cause: error });
    }
  }
  if (!Number.isFinite(ms) || ms > FOREVER_AFTER_MS) ms = -1;
  if (policy.maxMs !== undefined && (ms < 0 || ms > policy.maxMs)) return policy.maxMs;
  return ms;
}

/** What a timed expiry needs of a pool entry. */
export interface Expiring {
  expiresAt: number | undefined;
  timer: unknown;
}

/** Node's timers hold at most 2^31 - 1 ms (~24.8 days). */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

/** Runs `onExpired` at `target.expiresAt` on `clock`; a keep-alive longer than a timer can hold re-arms until its time has come. */
export function armExpiry(target: Expiring, clock: Clock, onExpired: () => void): void {
  const left = target.expiresAt! - clock.now();
  target.timer = clock.setTimer(() => {
    if (target.expiresAt !== undefined && clock.now() < target.expiresAt) armExpiry(target, clock, onExpired);
    else onExpired();
  }, Math.min(left, LONGEST_TIMER_MS));
}

export function cancelExpiry(target: Expiring, clock: Clock): void {
  if (target.timer !== undefined) clock.clearTimer(target.timer);
  target.timer = undefined;
  target.expiresAt = undefined;
}
