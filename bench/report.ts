import type { RowSpec, Scenario, ScenarioRun, Value } from './scenario.js';
import { isNumber } from './scenario.js';
import { round, summarize, type Summary } from './stats.js';

/**
 * Turns per-repeat scenario values into rows: each figure is computed within
 * one repeat (hearth against the baseline measured in that same repeat), then
 * summarised as median and min–max over repeats.
 */
export type ScenarioStatus = 'ok' | 'partial' | 'pending' | 'not built' | 'failed' | 'not selected';

export interface RowResult {
  metric: string;
  unit: string;
  compare: RowSpec['compare'];
  hearth: Summary | null;
  hearthStatus: string | undefined;
  baselineLabel: string | undefined;
  baseline: Summary | null;
  baselineStatus: string | undefined;
  figure: Summary | null;
  target: string | undefined;
  met: boolean | null;
  note: string | undefined;
}

export interface ScenarioReport {
  id: string;
  title: string;
  status: ScenarioStatus;
  reason: string | undefined;
  rows: RowResult[];
  repeats: Array<ScenarioRun | { error: string }>;
}

export function scenarioReport(scenario: Scenario, runs: Array<ScenarioRun | { error: string }>): ScenarioReport {
  const ok = runs.filter((r): r is ScenarioRun => 'values' in r);
  const rows = scenario.rows.map((spec) => rowResult(spec, ok.map((r) => r.values)));
  const failure = runs.find((r): r is { error: string } => 'error' in r);
  const withFigure = rows.filter((r) => r.figure !== null).length;
  const reasons = rows.flatMap((r) => [r.hearthStatus, r.baselineStatus]).filter((s): s is string => s !== undefined);
  let status: ScenarioStatus;
  if (ok.length === 0) status = 'failed';
  else if (withFigure === rows.length) status = 'ok';
  else if (withFigure > 0) status = 'partial';
  else if (rows.some((r) => r.hearthStatus?.startsWith('pending'))) status = 'pending';
  else if (reasons.length > 0 && reasons.every((r) => r === 'not built')) status = 'not built';
  else status = 'failed';
  const reason = failure?.error ?? (status === 'ok' ? undefined : reasons[0]);
  return { id: scenario.id, title: scenario.title, status, reason, rows, repeats: runs };
}

function rowResult(spec: RowSpec, repeats: Array<Record<string, Value>>): RowResult {
  const hearthValues = repeats.map((v) => v[spec.hearth]);
  const baseValues = spec.baseline ? repeats.map((v) => v[spec.baseline!.key]) : [];
  const figures: number[] = [];
  repeats.forEach((_, i) => {
    const h = hearthValues[i];
    const b = baseValues[i];
    if (!isNumber(h)) return;
    if (spec.compare === 'value') figures.push(h);
    else if (isNumber(b)) figures.push(spec.compare === 'ratio' ? h / b : spec.compare === 'inverse' ? b / h : h - b);
  });
  const figure = summarize(figures);
  const target = spec.target ? `${spec.target.op === '>=' ? '≥' : '≤'} ${spec.target.value}${spec.compare === 'ratio' || spec.compare === 'inverse' ? '×' : ` ${spec.unit}`}` : undefined;
  const met = figure && spec.target ? (spec.target.op === '>=' ? figure.median >= spec.target.value : figure.median <= spec.target.value) : null;
  return {
    metric: spec.metric,
    unit: spec.unit,
    compare: spec.compare,
    hearth: summarize(hearthValues.filter(isNumber)),
    hearthStatus: statusOf(hearthValues),
    baselineLabel: spec.baseline?.label,
    baseline: spec.baseline ? summarize(baseValues.filter(isNumber)) : null,
    baselineStatus: spec.baseline ? statusOf(baseValues) : undefined,
    figure,
    target,
    met,
    note: spec.note,
  };
}

/** The reason a value is missing in every repeat; undefined when any repeat has a number. */
function statusOf(values: Array<Value | undefined>): string | undefined {
  if (values.some(isNumber)) return undefined;
  const reason = values.find((v): v is { unavailable: string } => typeof v === 'object' && v !== null);
  return reason?.unavailable ?? 'not measured';
}

// ---------------------------------------------------------------------------------------------------------------
// Markdown
// ---------------------------------------------------------------------------------------------------------------

function fmt(s: Summary | null, unit = ''): string {
  if (!s) return '—';
  const u = unit ? ` ${unit}` : '';
  return s.n > 1 && s.min !== s.max ? `${round(s.median)}${u} (${round(s.min)}–${round(s.max)})` : `${round(s.median)}${u}`;
}

function figureText(row: RowResult): string {
  if (!row.figure) return '—';
  if (row.compare === 'value') return fmt(row.figure, row.unit);
  if (row.compare === 'delta') {
    const sign = (v: number) => `${v >= 0 ? '+' : ''}${round(v)}`;
    const f = row.figure;
    return f.n > 1 && f.min !== f.max ? `${sign(f.median)} ${row.unit} (${sign(f.min)}…${sign(f.max)})` : `${sign(f.median)} ${row.unit}`;
  }
  const f = row.figure;
  return f.n > 1 && f.min !== f.max ? `${round(f.median)}× (${round(f.min)}–${round(f.max)})` : `${round(f.median)}×`;
}

export function markdownTable(scenarios: ScenarioReport[]): string {
  const lines = ['| scenario | metric | hearth | baseline | ratio | target | met? |', '|---|---|---|---|---|---|---|'];
  for (const s of scenarios) {
    if (s.status === 'not selected') continue;
    if (s.rows.length === 0 || s.repeats.every((r) => 'error' in r)) {
      lines.push(`| ${s.id} | — | ${escape(s.reason ?? s.status)} | | | | |`);
      continue;
    }
    for (const r of s.rows) {
      const hearth = r.hearth ? fmt(r.hearth, r.unit) : escape(r.hearthStatus ?? '—');
      const baseline = r.baselineLabel ? `${r.baselineLabel}: ${r.baseline ? fmt(r.baseline, r.unit) : escape(r.baselineStatus ?? '—')}` : '—';
      const met = r.met === null ? (r.target ? 'n/a' : (r.note ?? '—')) : r.met ? 'yes' : 'no';
      lines.push(`| ${s.id} | ${r.metric} | ${hearth} | ${baseline} | ${figureText(r)} | ${r.target ?? '—'}${r.note && r.target ? ` (${r.note})` : ''} | ${met} |`);
    }
  }
  return lines.join('\n');
}

function escape(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ').slice(0, 160);
}
