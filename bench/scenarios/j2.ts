import { ingestFiles } from '../measure/jobs-ingest.js';
import { attempt, type Scenario, type Value } from '../scenario.js';

/**
 * Bulk ingestion (issue 16): `hearth ingest`'s whole path on 10k short text
 * files (a few hundred in --quick), in documents/s, against the embedding
 * alone of the same texts in the same process. Finding and reading the
 * files, the job executor, the gate on the first 1,000 documents and the
 * writes should cost under 20%.
 */
export const j2: Scenario = {
  id: 'J2',
  title: 'Jobs: ingestion of short files with the ONNX model, against embedding alone',
  rows: [{ metric: 'ingest docs/s (PGlite)', unit: 'docs/s', hearth: 'ingest', baseline: { key: 'embed', label: 'lease.model.embed alone, same texts, batches of 64' }, compare: 'ratio', target: { op: '>=', value: 0.8 } }],
  async run(ctx) {
    const details: Record<string, unknown> = {};
    const values: Record<string, Value> = {};
    const run = ingestFiles(ctx);
    values.ingest = await attempt(async () => {
      const r = await run;
      details.run = r;
      return r.documents / (r.ingestMs / 1000);
    });
    values.embed = await attempt(async () => {
      const r = await run;
      return r.documents / ((r.embedBeforeMs + r.embedAfterMs) / 2 / 1000);
    });
    return { values, details };
  },
};
