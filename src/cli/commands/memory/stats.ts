import { Command } from 'commander';
import { errorCodes } from '../../../errors/index.js';
import type { CollectionStats } from '../../../memory/memory.js';
import type { CommandFactory } from '../../command.js';
import { interruptSignal } from '../../command.js';
import { writeJson } from '../../format.js';
import { pairs } from './present.js';

export const statsCommand: CommandFactory = (run) =>
  new Command('stats')
    .description(
      `show a collection: its space and that space's verdict on this machine's runtime (identical, compatible, incompatible), dimensions, documents, chunks, invalid vectors (always 0), index state, measured recall and the database engine; exits ${errorCodes.SPACE_MISMATCH.exit} (SPACE_MISMATCH) when this runtime cannot write to or query it by text`,
    )
    .argument('<name>', 'the collection')
    .option('--json', 'print JSON')
    .action(
      run(async (ctx, name: string, options: { json?: boolean }) => {
        const interrupt = interruptSignal();
        let stats: CollectionStats;
        try {
          stats = await (await ctx.memory()).stats(name, interrupt.signal);
        } finally {
          interrupt.dispose();
        }
        if (options.json) writeJson(ctx.stdout, stats);
        else ctx.stdout.write(render(stats));
        if (stats.verdict === 'compatible') {
          ctx.stderr.write(`warning: space ${stats.space} is compatible, not identical: this runtime's vectors differ slightly from the stored ones but rank the same\n`);
        }
        if (stats.verdict !== 'incompatible') return 0;
        ctx.stderr.write(`error[SPACE_MISMATCH]: this runtime would make vectors that collection ${stats.name}'s space "${stats.space}" cannot use; hearth space check ${stats.space} says why\n`);
        return errorCodes.SPACE_MISMATCH.exit;
      }),
    );

function render(s: CollectionStats): string {
  return pairs([
    ['collection', s.name],
    ['space', s.space],
    ['verdict', s.verdict],
    ['dims', String(s.dimensions)],
    ['documents', String(s.documents)],
    ['chunks', String(s.chunks)],
    ['invalid vectors', String(s.invalidVectors)],
    ['index', s.indexState],
    ['recall', s.recall === null ? 'not measured' : s.recall.toFixed(4)],
    ['engine', s.engine],
    ...(s.reembedding ? [['migrating', `to space ${s.reembedding.to}: ${s.reembedding.done}/${s.reembedding.documents} documents backfilled`] as [string, string]] : []),
    ...(s.advice ? [['advice', s.advice] as [string, string]] : []),
  ]);
}
