import { Command } from 'commander';
import { HearthError } from '../../../errors/index.js';
import type { ReembedReport, ReembedTarget } from '../../../memory/reembed.js';
import type { CommandFactory } from '../../command.js';
import { interruptSignal } from '../../command.js';
import { writeJson } from '../../format.js';
import { pairs } from './present.js';

interface MigrateOptions {
  to?: string;
  swap: boolean;
  abort?: boolean;
  json?: boolean;
}

export const migrateCommand: CommandFactory = (run) =>
  new Command('migrate')
    .description(
      'move a collection to another embedding space with no downtime: a shadow collection in the new space is filled from the stored chunk texts while the old one keeps answering, writes meanwhile go to both, the new space is evaluated against the old (top-k overlap on sampled chunks), and one transaction swaps them. The old collection is kept until hearth memory gc. Interrupted (even by kill -9), the same command resumes where it stopped',
    )
    .argument('<name>', 'the collection')
    .option('--to <model|space>', 'an existing embedding space (or space:NAME), or a model, for which a space NAME-2 (-3, …) is made; optional when resuming')
    .option('--no-swap', 'stop after the backfill and the evaluation, keeping the old space live; run again without it to swap')
    .option('--abort', 'abandon the running migration: its shadow collection is dropped')
    .option('--json', 'print the report as JSON')
    .action(
      run(async (ctx, name: string, options: MigrateOptions) => {
        const memory = await ctx.memory();
        if (options.abort) {
          if (options.to !== undefined) throw new HearthError('USAGE', '--abort takes no --to');
          await memory.abortMigration(name);
          ctx.stdout.write(`abandoned the migration of collection ${name}; it stays in its space\n`);
          return;
        }
        const to = options.to === undefined ? undefined : await targetOf(options.to, (space) => memory.spaceExists(space));
        const interrupt = interruptSignal();
        let report: ReembedReport;
        try {
          report = await memory.migrate(name, to, {
            signal: interrupt.signal,
            swap: options.swap,
            onProgress: (p) => ctx.stderr.write(`backfilled ${p.done}/${p.documents} documents\n`),
          });
        } finally {
          interrupt.dispose();
        }
        if (options.json) return writeJson(ctx.stdout, report);
        ctx.stdout.write(render(report));
      }),
    );

/** `space:NAME` or the name of an existing space is a space; anything else names a model. */
async function targetOf(to: string, spaceExists: (name: string) => Promise<boolean>): Promise<ReembedTarget> {
  if (to.startsWith('space:')) return { space: to.slice('space:'.length) };
  return (await spaceExists(to)) ? { space: to } : { model: to };
}

function render(r: ReembedReport): string {
  const pct = (x: number | null) => (x === null ? 'n/a' : `${(x * 100).toFixed(1)}%`);
  return pairs([
    ['collection', r.collection],
    ['from space', r.from],
    ['to space', r.to],
    ['documents', String(r.documents)],
    ['embedded now', `${r.backfilled}${r.resumed ? ' (resumed)' : ''}`],
    [`top-${r.evaluation.k} overlap`, `mean ${pct(r.evaluation.meanOverlap)}, min ${pct(r.evaluation.minOverlap)} over ${r.evaluation.samples} sampled chunks`],
    ['swapped', r.swapped ? `yes: ${r.collection} now answers from ${r.to}; hearth memory gc removes the old vectors` : `no: run hearth memory migrate ${r.collection} to swap`],
  ]);
}
