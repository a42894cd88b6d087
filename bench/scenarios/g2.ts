import { hearthGenerate } from '../measure/generate.js';
import { attempt, type Scenario } from '../scenario.js';

/** Four streams at once (HEARTH_NUM_PARALLEL=4 so all four decode together), against G1's single stream. */
export const g2: Scenario = {
  id: 'G2',
  title: '4 parallel chat streams, aggregate tok/s',
  rows: [{ metric: 'aggregate tok/s', unit: 'tok/s', hearth: 'aggregate', baseline: { key: 'single', label: "G1's single stream (hearth)" }, compare: 'ratio', note: 'reported' }],
  async run(ctx) {
    const details: Record<string, unknown> = {};
    const aggregate = await attempt(async () => {
      const g = await hearthGenerate(ctx, { streams: 4, parallel: 4 });
      details.runtime = g.runtime;
      details.perStreamTokPerSec = g.tokPerSec;
      return g.aggregateTokPerSec;
    });
    // The same wall-time definition for one stream: tokens over request start to last chunk.
    const single = await attempt(async () => (await hearthGenerate(ctx, { streams: 1 })).aggregateTokPerSec);
    return { values: { aggregate, single }, details };
  },
};
