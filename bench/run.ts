import { Command, InvalidArgumentError } from 'commander';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { RunContext, type BenchOptions } from './context.js';
import { distAvailable } from './hearth/hearth-server.js';
import { readMachine } from './machine.js';
import { benchCacheDir, REPO_ROOT, RESULTS_DIR } from './paths.js';
import { buildPeers, canBuild, findPeers, type PeerStatus } from './peers/build-llama-cpp.js';
import { killAll } from './proc/live.js';
import { profile } from './profile.js';
import { markdownTable, scenarioReport, type ScenarioReport } from './report.js';
import { checkResults, resultsPath, writeResults, type RunResults } from './results.js';
import { reasonOf, type ScenarioRun } from './scenario.js';
import { SCENARIOS } from './scenarios/index.js';

/** `npm run bench -- [flags]`: the benchmark harness of issue 6. Progress goes to stderr, the table to stdout. */
const ids = SCENARIOS.map((s) => s.id);
const PEER_SCENARIOS = new Set(['E1', 'E3', 'G1']);

const program = new Command('bench')
  .description('hearth benchmarks: every figure a ratio against a baseline measured in the same run')
  .option('--quick', 'tiny models, short windows, 1 repeat, never builds peers (< 3 min)')
  .option('--repeats <n>', 'repeats of every scenario (default 3, --quick 1)', positiveInt)
  .option('--only <ids>', `comma-separated scenario ids (${ids.join(',')})`, (v) => parseOnly(v))
  .option('--model <path>', 'a real GGUF for the generation scenarios (G1, G2, G3, S1, T1) instead of the generated llama')
  .option('--build-peers', 'build llama-server and llama-bench from the bundled llama.cpp first (not with --quick)')
  .option('--no-build', 'in a full run, do not build missing peers (their columns read "not built")')
  .option('--entry <entry>', 'run hearth from "src" (tsx, default) or "dist" (bin/hearth.js; needs npm run build)', 'src')
  .option('--out <file>', 'results JSON path (default bench/results/<date>-<host>[-quick].json)')
  .option('--check', 'exit non-zero unless the JSON has every scenario with a status and none failed (the CI harness check)')
  .parse();

interface Flags {
  quick?: boolean;
  repeats?: number;
  only?: string[];
  model?: string;
  buildPeers?: boolean;
  build: boolean;
  entry: string;
  out?: string;
  check?: boolean;
}

const started = performance.now();
const log = (message: string) => {
  const s = Math.round((performance.now() - started) / 1000);
  process.stderr.write(`[${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}] ${message}\n`);
};

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}

process.exitCode = await main(program.opts<Flags>()).catch((error: unknown) => {
  log(`error: ${(error as Error).stack ?? String(error)}`);
  return 1;
});

async function main(flags: Flags): Promise<number> {
  if (flags.quick && flags.buildPeers) throw new InvalidArgumentError('--quick never builds peers; run --build-peers on its own first');
  if (flags.entry !== 'src' && flags.entry !== 'dist') throw new InvalidArgumentError('--entry is "src" or "dist"');
  if (flags.entry === 'dist' && !distAvailable()) throw new InvalidArgumentError('--entry dist needs `npm run build` first');
  if (flags.model && !existsSync(flags.model)) throw new InvalidArgumentError(`--model ${flags.model} does not exist`);
  const options: BenchOptions = {
    quick: flags.quick ?? false,
    repeats: flags.repeats ?? (flags.quick ? 1 : 3),
    only: flags.only,
    model: flags.model ? resolve(flags.model) : undefined,
    entry: flags.entry,
  };
  const prof = profile(options.quick);
  const selected = SCENARIOS.filter((s) => !options.only || options.only.includes(s.id));
  const startedAt = new Date();
  const machine = readMachine(REPO_ROOT);
  log(`hearth bench, ${prof.name} mode, ${options.repeats} repeat(s), scenarios ${selected.map((s) => s.id).join(' ')}; load average ${machine.loadAverageAtStart.join(' ')}`);
  const peers = await preparePeers(flags, options, selected.some((s) => PEER_SCENARIOS.has(s.id)));
  const ctx = new RunContext(options, prof, benchCacheDir(), peers, log);
  const runs = new Map<string, Array<ScenarioRun | { error: string }>>(selected.map((s) => [s.id, []]));
  try {
    for (let r = 0; r < options.repeats; r++) {
      ctx.repeat = r;
      for (const scenario of selected) {
        log(`${scenario.id} (repeat ${r + 1}/${options.repeats}): ${scenario.title}`);
        const run = await scenario.run(ctx).catch((error: unknown) => ({ error: reasonOf(error) }));
        if ('error' in run) log(`  ${scenario.id} ${run.error}`);
        runs.get(scenario.id)!.push(run);
      }
    }
  } finally {
    await ctx.dispose();
  }
  const scenarios: ScenarioReport[] = SCENARIOS.map((s) =>
    runs.has(s.id) ? scenarioReport(s, runs.get(s.id)!) : { id: s.id, title: s.title, status: 'not selected', reason: undefined, rows: [], repeats: [] },
  );
  const table = markdownTable(scenarios);
  const results: RunResults = {
    schema: 1,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    durationMs: Math.round(performance.now() - started),
    mode: prof.name,
    repeats: options.repeats,
    options: { ...options },
    machine,
    peers: peers.built ? { built: true, dir: peers.binaries.dir, tag: peers.binaries.tag } : { built: false, reason: peers.reason, dir: peers.dir },
    models: { bert: prof.bert, llama: options.model ?? prof.llama },
    profile: prof,
    scenarios,
    table,
  };
  const path = flags.out ? resolve(flags.out) : resultsPath(RESULTS_DIR, prof.name);
  await writeResults(path, results);
  process.stdout.write(`${table}\n\n`);
  for (const s of scenarios) if (s.status !== 'ok' && s.status !== 'not selected') process.stdout.write(`- ${s.id}: ${s.status}${s.reason ? ` (${s.reason})` : ''}\n`);
  log(`results written to ${path} in ${Math.round(results.durationMs / 1000)} s`);
  if (!flags.check) return 0;
  const problems = checkResults(results, selected.map((s) => s.id));
  for (const p of problems) log(`check: ${p}`);
  if (problems.length === 0) log(`check: all ${selected.length} scenarios reported a status`);
  return problems.length === 0 ? 0 : 1;
}

async function preparePeers(flags: Flags, options: BenchOptions, needed: boolean): Promise<PeerStatus> {
  const found = await findPeers();
  if (found.built || (!needed && !flags.buildPeers)) return found;
  const explicit = flags.buildPeers === true;
  if (options.quick || (!explicit && !flags.build)) return found;
  const missing = await canBuild();
  if (missing) {
    log(`peers not built and cannot be built here: ${missing}`);
    return { built: false, reason: `not built (${missing})`, dir: found.dir };
  }
  log(`building llama-server and llama-bench into ${found.dir} (more than 10 minutes on 2 cores)`);
  let last = '';
  try {
    const binaries = await buildPeers({
      jobs: 2,
      onLine: (line) => {
        const pct = /^\[\s*(\d+)%\]/.exec(line)?.[1];
        if (pct && pct !== last && Number(pct) % 10 === 0) log(`  peer build ${(last = pct)}%`);
      },
    });
    return { built: true, binaries };
  } catch (error) {
    log(`peer build failed: ${(error as Error).message}`);
    return { built: false, reason: 'not built (build failed)', dir: found.dir };
  }
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a positive integer');
  return n;
}

function parseOnly(value: string): string[] {
  const list = value.split(',').map((s) => s.trim().toUpperCase()).filter(Boolean);
  const unknown = list.filter((id) => !ids.includes(id));
  if (unknown.length > 0) throw new InvalidArgumentError(`unknown scenario ${unknown.join(', ')}; known: ${ids.join(', ')}`);
  return list;
}
