import { enrichOnWorkers } from '../measure/jobs-enrich.js';
import type { JobsEnrichResult } from '../children/jobs-enrich.js';
import { attempt, type RowSpec, type Scenario, type Value } from '../scenario.js';

const SIMULATED = [2, 4, 8];

/**
 * Transcript enrichment across workers (issue 16): chunk outputs/s of a
 * 200-segment transcript with the bench llama, in-process against BullMQ
 * with 1 and 2 `hearth worker` processes on this machine; and the queue
 * alone, with N simulated machines whose chunks each cost a fixed wait.
 */
export const j1: Scenario = {
  id: 'J1',
  title: 'Jobs: enrichment in-process against BullMQ workers, and the queue across simulated machines',
  rows: [
    { metric: 'chunks/s, BullMQ, 1 worker', unit: 'chunks/s', hearth: 'bullmq1', baseline: { key: 'inProcess', label: 'in-process executor, same flow' }, compare: 'ratio', target: { op: '>=', value: 0.9 } },
    { metric: 'chunks/s, BullMQ, 2 workers', unit: 'chunks/s', hearth: 'bullmq2', baseline: { key: 'bullmq1', label: 'BullMQ, 1 worker' }, compare: 'ratio', note: '2 cores allow at most 2×' },
    ...SIMULATED.map(
      (n): RowSpec => ({ metric: `queue alone, ${n} simulated machines`, unit: 'chunks/s', hearth: `sim${n}`, baseline: { key: 'sim1', label: '1 simulated machine' }, compare: 'ratio', note: `ideal ${n}×` }),
    ),
  ],
  async run(ctx) {
    const details: Record<string, unknown> = {};
    const values: Record<string, Value> = {};
    const run = enrichOnWorkers(ctx).then((r) => ((details.run = r), r));
    const rate = (pick: (r: JobsEnrichResult) => number | undefined) =>
      attempt(async () => {
        const r = await run;
        const ms = pick(r);
        if (ms === undefined) throw new Error('unavailable' in r.bullmq ? r.bullmq.unavailable : 'not measured');
        return r.chunks / (ms / 1000);
      });
    values.inProcess = await rate((r) => r.inProcessMs);
    for (const n of [1, 2]) values[`bullmq${n}`] = await rate((r) => ('unavailable' in r.bullmq ? undefined : r.bullmq.find((b) => b.workers === n)?.ms));
    for (const n of [1, ...SIMULATED]) {
      values[`sim${n}`] = await attempt(async () => {
        const r = await run;
        if ('unavailable' in r.simulated) throw new Error(r.simulated.unavailable);
        const found = r.simulated.find((s) => s.workers === n);
        if (!found) throw new Error('not measured');
        // The simulated flow's own chunks: a rate of the queue, not of the model.
        return found.chunks / (found.ms / 1000);
      });
    }
    return { values, details };
  },
};
