import { attempt, type Scenario } from '../scenario.js';
import { e1Session } from './e1.js';

export const h1: Scenario = {
  id: 'H1',
  title: "/health latency while E1's load runs (separate sampling process)",
  rows: [
    { metric: '/health p99', unit: 'ms', hearth: 'p99', compare: 'value', target: { op: '<=', value: 5 } },
    { metric: '/health p50', unit: 'ms', hearth: 'p50', compare: 'value' },
  ],
  async run(ctx) {
    const details: Record<string, unknown> = {};
    const session = attempt(async () => {
      const s = await e1Session(ctx);
      if (!s.health || s.health.error) throw new Error(s.health?.error ?? 'no health samples');
      Object.assign(details, s.health);
      return s.health.p99Ms;
    });
    const p99 = await session;
    const p50 = typeof p99 === 'number' ? ((details.p50Ms as number | undefined) ?? Number.NaN) : p99;
    return { values: { p99, p50 }, details };
  },
};
