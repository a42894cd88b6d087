import type { RunContext } from './context.js';

/** A measurement, or why there is none ("not built", "pending: ONNX backend", "failed: ..."). */
export type Value = number | { unavailable: string };

export function unavailable(reason: string): Value {
  return { unavailable: reason };
}

export function isNumber(value: Value | undefined): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

/** Runs one measurement; a failure becomes an unavailable value instead of ending the scenario. */
export async function attempt(fn: () => Promise<number>): Promise<Value> {
  try {
    return await fn();
  } catch (error) {
    return unavailable(reasonOf(error));
  }
}

export function reasonOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.startsWith('pending:') || message === 'not built' ? message : `failed: ${message.split('\n')[0]!.slice(0, 300)}`;
}

/**
 * How a row turns hearth's value and its baseline's into the reported figure:
 * - ratio: hearth / baseline (rates; higher is better);
 * - inverse: baseline / hearth (times; so higher is still better for hearth);
 * - delta: hearth − baseline (ms of overhead);
 * - value: hearth's value alone (no baseline).
 */
export type Compare = 'ratio' | 'inverse' | 'delta' | 'value';

export interface RowSpec {
  metric: string;
  unit: string;
  hearth: string;
  baseline?: { key: string; label: string };
  compare: Compare;
  target?: { op: '>=' | '<='; value: number };
  /** Rows without a target that are reported for information. */
  note?: string;
}

export interface ScenarioRun {
  values: Record<string, Value>;
  details: Record<string, unknown>;
}

export interface Scenario {
  id: string;
  title: string;
  rows: RowSpec[];
  run(ctx: RunContext): Promise<ScenarioRun>;
}
