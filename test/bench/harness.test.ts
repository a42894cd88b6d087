import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { markdownTable, scenarioReport } from '../../bench/report.js';
import { checkResults, type RunResults } from '../../bench/results.js';
import { unavailable, type Scenario } from '../../bench/scenario.js';
import { SCENARIOS } from '../../bench/scenarios/index.js';
import { median, percentile, summarize } from '../../bench/stats.js';
import { benchTexts } from '../../bench/texts.js';

// The benchmark harness's arithmetic and bookkeeping. The harness itself runs in .ci/run
// (`npm run bench -- --quick --check`); nothing here starts a process or measures time.

const fake = (rows: Scenario['rows']): Scenario => ({ id: 'X1', title: 'fake', rows, run: () => Promise.reject(new Error('not run')) });

describe('bench harness', () => {
  it('covers every scenario, once each', () => {
    assert.deepEqual(SCENARIOS.map((s) => s.id).sort(), ['A1', 'E1', 'E2', 'E3', 'G1', 'G2', 'G3', 'H1', 'H2', 'J1', 'J2', 'M1', 'M2', 'M3', 'P1', 'S1', 'SP1', 'SP2', 'T1', 'V1']);
  });

  it('summarises with median, min and max, and nearest-rank percentiles', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 2, 3]), 2.5);
    assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 99), 10);
    assert.equal(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50), 5);
    assert.deepEqual(summarize([2, Number.NaN, 4, 3]), { median: 3, min: 2, max: 4, n: 3 });
    assert.equal(summarize([]), null);
  });

  it('computes each ratio within a repeat, then summarises the ratios', () => {
    const scenario = fake([{ metric: 'rate', unit: 'x/s', hearth: 'h', baseline: { key: 'b', label: 'b' }, compare: 'ratio', target: { op: '>=', value: 0.9 } }]);
    const report = scenarioReport(scenario, [
      { values: { h: 90, b: 100 }, details: {} },
      { values: { h: 50, b: 50 }, details: {} },
      { values: { h: 80, b: 100 }, details: {} },
    ]);
    const row = report.rows[0]!;
    assert.deepEqual(row.figure, { median: 0.9, min: 0.8, max: 1, n: 3 });
    assert.equal(row.met, true);
    assert.equal(report.status, 'ok');
  });

  it('reports deltas, inverse ratios and plain values against their targets', () => {
    const scenario = fake([
      { metric: 'start', unit: 'ms', hearth: 'h', baseline: { key: 'b', label: 'bare' }, compare: 'delta', target: { op: '<=', value: 300 } },
      { metric: 'pull', unit: 'ms', hearth: 'h', baseline: { key: 'b', label: 'curl' }, compare: 'inverse', target: { op: '>=', value: 0.8 } },
      { metric: 'p99', unit: 'ms', hearth: 'p', compare: 'value', target: { op: '<=', value: 5 } },
    ]);
    const report = scenarioReport(scenario, [{ values: { h: 1000, b: 800, p: 6 }, details: {} }]);
    assert.equal(report.rows[0]!.figure!.median, 200);
    assert.equal(report.rows[0]!.met, true);
    assert.equal(report.rows[1]!.figure!.median, 0.8);
    assert.equal(report.rows[2]!.met, false);
    const table = markdownTable([report]);
    assert.match(table, /\+200 ms/);
    assert.match(table, /0\.8×/);
  });

  it('gives a status to scenarios whose peers are not built, whose backend is pending, or that failed', () => {
    const spec: Scenario['rows'] = [{ metric: 'rate', unit: 'x/s', hearth: 'h', baseline: { key: 'c', label: 'llama-server' }, compare: 'ratio' }];
    assert.equal(scenarioReport(fake(spec), [{ values: { h: 1, c: unavailable('not built') }, details: {} }]).status, 'not built');
    assert.equal(scenarioReport(fake(spec), [{ values: { h: unavailable('pending: ONNX backend'), c: 3 }, details: {} }]).status, 'pending');
    assert.equal(scenarioReport(fake(spec), [{ values: { h: unavailable('failed: boom'), c: 3 }, details: {} }]).status, 'failed');
    assert.equal(scenarioReport(fake(spec), [{ error: 'failed: boom' }]).status, 'failed');
    const table = markdownTable([scenarioReport(fake(spec), [{ values: { h: 1, c: unavailable('not built') }, details: {} }])]);
    assert.match(table, /llama-server: not built/);
  });

  it('checks that the results name every scenario with a status, and none failed', () => {
    const results = { scenarios: [scenarioReport(fake([]), [{ values: {}, details: {} }])] } as unknown as RunResults;
    assert.deepEqual(checkResults(results, ['X1']), []);
    assert.deepEqual(checkResults(results, ['X1', 'E1']), ['E1: missing from the results']);
  });

  it('generates the same ~20-token sentences every run', () => {
    const a = benchTexts({ count: 256 });
    assert.equal(a.length, 256);
    assert.deepEqual(a, benchTexts({ count: 256 }));
    assert.equal(new Set(a).size, 256);
    for (const text of a) assert.equal(text.split(' ').length, 18);
  });
});
