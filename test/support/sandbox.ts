import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config/index.js';
import { createStore, type Store } from '../../src/store/index.js';

/** An isolated hearth home and hub cache, so tests never touch the user's real cache. */
export interface Sandbox {
  root: string;
  home: string;
  hubCache: string;
  env(extra?: Record<string, string>): Record<string, string>;
  config(extra?: Record<string, string>, overrides?: Record<string, unknown>): Readonly<Config>;
  store(extra?: Record<string, string>, overrides?: Record<string, unknown>): Store;
  cleanup(): Promise<void>;
}

export async function createSandbox(endpoint?: string): Promise<Sandbox> {
  const root = await mkdtemp(join(tmpdir(), 'hearth-test-'));
  const home = join(root, 'home');
  const hubCache = join(root, 'hub');
  const stores: Store[] = [];
  const env = (extra: Record<string, string> = {}) => ({
    HOME: root,
    HEARTH_HOME: home,
    HF_HUB_CACHE: hubCache,
    HF_HOME: join(root, 'hf-home'),
    ...(endpoint ? { HF_ENDPOINT: endpoint } : {}),
    HEARTH_DISK_RESERVE: '0',
    HEARTH_PULL_RETRIES: '3',
    HEARTH_PULL_TIMEOUT: '5s',
    ...extra,
  });
  return {
    root,
    home,
    hubCache,
    env,
    config: (extra, overrides) => loadConfig(env(extra), overrides),
    store: (extra, overrides) => {
      const store = createStore({ config: loadConfig(env(extra), overrides) });
      stores.push(store);
      return store;
    },
    cleanup: async () => {
      await Promise.all(stores.map((s) => s.dispose()));
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** Deterministic pseudo-random bytes: fixtures are generated, never committed. */
/** Hex sha256 of some bytes: the digest a hub gives an LFS file. */
export const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

export function fixtureBytes(size: number, seed = 1): Buffer {
  const out = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
