import { Command } from 'commander';
import type { SimilarityDistribution } from '../../../memory/collection-store.js';
import type { CommandFactory } from '../../command.js';
import { interruptSignal } from '../../command.js';
import { writeJson } from '../../format.js';
import { pairs, queryOf } from './present.js';

/** Below this, no chunk is what embedding models call related: the space, not the threshold, is the first suspect. */
const CLOSE = 0.3;

export const diagnoseCommand: CommandFactory = (run) =>
  new Command('diagnose')
    .description(
      'show how similar one query is to every chunk of a collection: the number of chunks, min, max and mean similarity, and how many reach 0.3, 0.5, 0.7 and 0.9. Use it to choose --min-similarity, or to find out that the vectors are broken',
    )
    .argument('<name>', 'the collection')
    .argument('[text]', 'the query')
    .option('--vector <json>', 'diagnose this vector (a JSON array) instead of a text')
    .option('--json', 'print JSON')
    .action(
      run(async (ctx, name: string, text: string | undefined, options: { vector?: string; json?: boolean }) => {
        const interrupt = interruptSignal();
        try {
          const query = queryOf(text, options.vector, interrupt.signal);
          const distribution = await (await ctx.memory()).diagnose(name, query);
          const advice = hint(distribution);
          if (options.json) return writeJson(ctx.stdout, { collection: name, ...distribution, ...(advice ? { hint: advice } : {}) });
          ctx.stdout.write(render(distribution));
          if (advice) ctx.stdout.write(`hint: ${advice}\n`);
        } finally {
          interrupt.dispose();
        }
      }),
    );

function hint(d: SimilarityDistribution): string | undefined {
  if (d.max === null) return 'the collection has no chunks yet: add documents with hearth memory add';
  if (d.max < CLOSE) return "no chunk is close to this query: check the collection's space with hearth memory stats";
  return undefined;
}

function render(d: SimilarityDistribution): string {
  const n = (x: number | null) => (x === null ? '-' : x.toFixed(4));
  return pairs([
    ['chunks', String(d.chunks)],
    ['min', n(d.min)],
    ['max', n(d.max)],
    ['mean', n(d.mean)],
    ['>= 0.3', String(d.atLeast['0.3'])],
    ['>= 0.5', String(d.atLeast['0.5'])],
    ['>= 0.7', String(d.atLeast['0.7'])],
    ['>= 0.9', String(d.atLeast['0.9'])],
  ]);
}
