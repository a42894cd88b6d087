import { mkdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { MachineInfo } from './machine.js';
import type { Profile } from './profile.js';
import type { ScenarioReport } from './report.js';

/** The JSON a run leaves in bench/results/ (gitignored). */
export interface RunResults {
  schema: 1;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  mode: Profile['name'];
  repeats: number;
  options: Record<string, unknown>;
  machine: MachineInfo;
  peers: { built: boolean; reason?: string; dir: string; tag?: string };
  models: Record<string, unknown>;
  profile: Profile;
  scenarios: ScenarioReport[];
  table: string;
}

export function resultsPath(dir: string, mode: Profile['name'], date = new Date()): string {
  const day = `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, '0')}-${String(date.getDate()).padStart(2, '0')}`;
  const host = hostname().replace(/[^A-Za-z0-9._-]/g, '_');
  return join(dir, `${day}-${host}${mode === 'quick' ? '-quick' : ''}.json`);
}

export async function writeResults(path: string, results: RunResults): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, `${JSON.stringify(results, null, 2)}\n`);
}

/** Problems that make a run unfit as a harness check: a scenario missing from the JSON, without a status, or failed. */
export function checkResults(results: RunResults, ids: string[]): string[] {
  const problems: string[] = [];
  for (const id of ids) {
    const s = results.scenarios.find((x) => x.id === id);
    if (!s) problems.push(`${id}: missing from the results`);
    else if (!s.status) problems.push(`${id}: no status`);
    else if (s.status === 'failed') problems.push(`${id}: failed: ${s.reason ?? 'no reason'}`);
  }
  return problems;
}
