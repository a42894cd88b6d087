import { after, afterEach, before } from 'node:test';
import type { ModelPool } from '../../src/pool/model-pool.js';
import { createModelFixtures, type ModelFixtures } from './model-fixtures.js';
import { createSandbox, type Sandbox } from './sandbox.js';

/** What a pool test works on: generated models, a sandboxed store, and pools disposed after each test. */
export interface PoolBed {
  readonly fixtures: ModelFixtures;
  readonly box: Sandbox;
  /** Registers a pool to dispose after the current test; returns it. */
  track(pool: ModelPool): ModelPool;
}

/** Call inside a describe(): registers the hooks that make and clean the bed. */
export function poolBed(): PoolBed {
  let fixtures: ModelFixtures | undefined;
  let box: Sandbox | undefined;
  const pools: ModelPool[] = [];
  before(async () => {
    fixtures = await createModelFixtures();
    box = await createSandbox();
  });
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.dispose()));
  });
  after(async () => {
    await box?.cleanup();
    await fixtures?.cleanup();
  });
  return {
    get fixtures() {
      if (!fixtures) throw new Error('poolBed: used outside a test');
      return fixtures;
    },
    get box() {
      if (!box) throw new Error('poolBed: used outside a test');
      return box;
    },
    track(pool) {
      pools.push(pool);
      return pool;
    },
  };
}
