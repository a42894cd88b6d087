import { addTexts } from '../measure/memory-add-text.js';
import { ENGINES } from '../measure/memory-stores.js';
import { attempt, type Scenario, type Value } from '../scenario.js';

/**
 * Vector memory end to end (issue 14): `memory.add` of short text documents
 * (10k; a few hundred in --quick), chunked and embedded by the MiniLM-shaped
 * ONNX model and stored, in documents/s, against the embedding alone on the
 * same texts in the same batches, in the same process. Storage (chunking,
 * hashing, the space guard and the writes) should cost under 20%.
 */
export const m3: Scenario = {
  id: 'M3',
  title: 'Vector memory: add of short documents with the ONNX model, against embedding alone',
  rows: [
    { metric: 'add docs/s (PGlite)', unit: 'docs/s', hearth: 'pgliteAdd', baseline: { key: 'pgliteEmbed', label: 'lease.model.embed alone, same texts and batches' }, compare: 'ratio', target: { op: '>=', value: 0.8 } },
    { metric: 'add docs/s (Postgres)', unit: 'docs/s', hearth: 'postgresAdd', baseline: { key: 'postgresEmbed', label: 'lease.model.embed alone, same texts and batches' }, compare: 'ratio', target: { op: '>=', value: 0.8 } },
  ],
  async run(ctx) {
    const details: Record<string, unknown> = {};
    const values: Record<string, Value> = {};
    for (const kind of ENGINES) {
      const run = addTexts(ctx, kind);
      values[`${kind}Add`] = await attempt(async () => {
        const r = await run;
        details[kind] = r;
        return r.documents / (r.addMs / 1000);
      });
      values[`${kind}Embed`] = await attempt(async () => {
        const r = await run;
        return r.documents / ((r.embedBeforeMs + r.embedAfterMs) / 2 / 1000);
      });
    }
    return { values, details };
  },
};
