import { APPLIED } from '../src/cli/relaunch.js';
import { runtimeEnv } from '../src/runtime/runtime-env.js';

/**
 * Environments for measured child processes. Both thread-taming variables are
 * read once when a process starts, so each configuration gets a fresh process
 * started with the environment it is measured under.
 */
const TAMING_KEYS = [...Object.keys(runtimeEnv()), APPLIED];

/** The caller's environment with the taming variables removed: what a plain `node app.js` gets. */
export function untamedEnv(base: NodeJS.ProcessEnv = process.env, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(base)) if (value !== undefined && !TAMING_KEYS.includes(key)) env[key] = value;
  return { ...env, ...extra };
}

/** The environment hearth's CLI relaunches itself with (src/runtime/runtime-env.ts). */
export function tamedEnv(base: NodeJS.ProcessEnv = process.env, extra: Record<string, string> = {}): Record<string, string> {
  return { ...untamedEnv(base), ...runtimeEnv(), ...extra };
}
