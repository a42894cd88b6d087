import { Command } from 'commander';
import { errorCodes } from '../../../errors/index.js';
import type { CheckReport } from '../../../spaces/index.js';
import type { CommandFactory } from '../../command.js';
import { interruptSignal } from '../../command.js';
import { table, writeJson } from '../../format.js';
import { cell, short } from './present.js';

export const checkCommand: CommandFactory = (run) =>
  new Command('check')
    .description(
      `re-embed the probes on this machine's runtime and compare them with the space's: prints the verdict (identical, compatible, incompatible) on the first line, then why, the probe statistics and what differs; exits 0 when the space's vectors can be used here, ${errorCodes.SPACE_MISMATCH.exit} (SPACE_MISMATCH) when not`,
    )
    .argument('<name>', 'the space to check')
    .option('-m, --model <ref>', "check this model instead of the space's own (another copy, or a candidate replacement)")
    .option('--json', 'print the whole report as JSON, per-probe cosines included')
    .action(
      run(async (ctx, name: string, options: { model?: string; json?: boolean }) => {
        const interrupt = interruptSignal();
        let report: CheckReport;
        try {
          report = await (await ctx.spaces()).check(name, { model: options.model, signal: interrupt.signal });
        } finally {
          interrupt.dispose();
        }
        if (options.json) writeJson(ctx.stdout, report);
        else ctx.stdout.write(render(report));
        if (report.verdict === 'compatible') {
          ctx.stderr.write(`warning: space ${report.space} is compatible, not identical: this runtime's vectors differ slightly from the space's but rank the same\n`);
        }
        if (report.verdict !== 'incompatible') return 0;
        ctx.stderr.write(`error[SPACE_MISMATCH]: this runtime would make vectors that space "${report.space}" cannot use\n`);
        return errorCodes.SPACE_MISMATCH.exit;
      }),
    );

function render(report: CheckReport): string {
  const lines = [report.verdict, ...report.reasons.map((r) => `  ${r}`)];
  const p = report.probes;
  lines.push(
    p
      ? `probes: ${p.cosines.length}, cosine min ${fixed(p.min)}, mean ${fixed(p.mean)}, p5 ${fixed(p.p5)}; max abs diff ${p.maxAbsDiff === 0 ? '0' : p.maxAbsDiff.toExponential(2)}; rank tau ${fixed(p.rankTau)}; top-5 overlap ${p.top5Overlap.toFixed(4)}`
      : 'probes: not compared (the dimensions differ)',
  );
  const { space, current } = report.fingerprints;
  lines.push(
    `fingerprints: model ${same(space.model, current.model)}, runtime ${same(space.runtime, current.runtime)}`,
    report.diff.length === 0 ? 'diff: none (the same model and runtime)' : `diff:\n${table(['FIELD', 'SPACE', 'HERE'], report.diff.map((d) => [d.field, cell(d.space), cell(d.current)])).trimEnd()}`,
    `checked in ${report.durationMs} ms`,
  );
  return `${lines.join('\n')}\n`;
}

function same(space: string, here: string): string {
  return space === here ? `same (${short(space)})` : `differs (space ${short(space)}, here ${short(here)})`;
}

/** Cosines near 1 need more digits than the rest to show how near. */
function fixed(n: number): string {
  return n >= 0.9999 && n < 1 ? n.toFixed(7) : n.toFixed(4);
}
