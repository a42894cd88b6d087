import { parseDuration } from '../config/index.js';
import { HearthError } from '../errors/index.js';

/** A keep-alive in milliseconds: 0 unloads after the request, a negative value keeps the model for ever. */
export type KeepAliveMs = number;

export interface KeepAlivePolicy {
  defaultMs: KeepAliveMs;
  /** Server-side ceiling; requests (including "for ever") are clamped to it. */
  maxMs: number | undefined;
}

/**
 * Ollama's keep_alive semantics: a duration string ("5m", "1h") or a number
 * of seconds; 0 means unload now, negative means never unload.
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
  if (policy.maxMs !== undefined && (ms < 0 || ms > policy.maxMs)) return policy.maxMs;
  return ms;
}
