import { after, afterEach, before } from 'node:test';
import { silentLogger } from '../../src/log/logger.js';
import { ModelPool, type PoolConfig } from '../../src/pool/model-pool.js';
import type { ModelState } from '../../src/pool/pool-entry.js';
import type { Tuner } from '../../src/pool/tuner.js';
import { LlamaBackend } from '../../src/runtime/llama/llama-backend.js';
import type { Backend } from '../../src/runtime/types.js';
import type { Clock } from '../../src/pool/clock.js';
import { createModelFixtures, type ModelFixtures } from './model-fixtures.js';
import { createSandbox, type Sandbox } from './sandbox.js';

/** The pool settings tests start from: 2 models, a budget that never binds, 1 fixed thread, 2 CPUs. */
export const TEST_POOL_CONFIG: PoolConfig = {
  maxLoaded: 2,
  memoryBudget: 10e9,
  keepAlive: { defaultMs: 300_000, maxMs: undefined },
  threads: 1,
  numParallel: 2,
  contextSize: undefined,
  cpus: 2,
};

/** What a pool test works on: generated models, a sandboxed store, and pools disposed after each test. */
export interface PoolBed {
  readonly fixtures: ModelFixtures;
  readonly box: Sandbox;
  /** A pool over the bed's store with TEST_POOL_CONFIG and `overrides`, disposed after the test; llama.cpp unless backends are given. */
  pool(overrides?: Partial<PoolConfig>, extra?: { backends?: Backend[]; tuner?: Tuner; clock?: Clock }): ModelPool;
  /** Registers a pool to dispose after the current test; returns it. */
  track(pool: ModelPool): ModelPool;
}

/** Call inside a describe(): registers the hooks that make and clean the bed (a hub endpoint for the store, if given). */
export function poolBed(options: { endpoint?: () => string } = {}): PoolBed {
  let fixtures: ModelFixtures | undefined;
  let box: Sandbox | undefined;
  const pools: ModelPool[] = [];
  before(async () => {
    fixtures = await createModelFixtures();
    box = await createSandbox(options.endpoint?.());
  });
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.dispose()));
  });
  after(async () => {
    await box?.cleanup();
    await fixtures?.cleanup();
  });
  const bed: PoolBed = {
    get fixtures() {
      if (!fixtures) throw new Error('poolBed: used outside a test');
      return fixtures;
    },
    get box() {
      if (!box) throw new Error('poolBed: used outside a test');
      return box;
    },
    pool(overrides = {}, extra = {}) {
      return bed.track(
        new ModelPool({
          store: bed.box.store(),
          backends: extra.backends ?? [new LlamaBackend({ device: 'cpu', logger: silentLogger })],
          logger: silentLogger,
          tuner: extra.tuner,
          ...(extra.clock ? { clock: extra.clock } : {}),
          config: { ...TEST_POOL_CONFIG, ...overrides },
        }),
      );
    },
    track(pool) {
      pools.push(pool);
      return pool;
    },
  };
  return bed;
}

/**
 * Resolves when the pool reports `state` for a model, by the name it was
 * acquired under or its reference (the suffix of either); the listener is removed then.
 */
export function stateReached(pool: ModelPool, name: string, state: ModelState): Promise<void> {
  return new Promise((resolve) => {
    const listener = (seen: string, reached: ModelState) => {
      if (reached !== state || !(seen === name || seen.endsWith(name))) return;
      pool.events.off('state', listener);
      resolve();
    };
    pool.events.on('state', listener);
  });
}

/** Resolves when a load of a model whose reference ends with `name` starts waiting for room in the pool. */
export function waitingForRoom(pool: ModelPool, name: string): Promise<void> {
  return new Promise((resolve) => {
    const listener = (ref: string) => {
      if (!ref.endsWith(name)) return;
      pool.events.off('waiting', listener);
      resolve();
    };
    pool.events.on('waiting', listener);
  });
}
