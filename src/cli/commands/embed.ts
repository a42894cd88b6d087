import { Command } from 'commander';
import { l2norm } from '../../runtime/vector.js';
import type { CommandFactory } from '../command.js';
import { interruptSignal } from '../command.js';
import { writeJson } from '../format.js';

export const embedCommand: CommandFactory = (run) =>
  new Command('embed')
    .description('print the embedding of one or more texts as JSON, without a server')
    .argument('<model>', 'a model reference or alias (must be in the store)')
    .argument('<texts...>', 'texts to embed')
    .option('--full', 'include the vectors themselves')
    .option('--truncate', 'cut over-long input to the context instead of failing')
    .action(
      run(async (ctx, model: string, texts: string[], options: { full?: boolean; truncate?: boolean }) => {
        const interrupt = interruptSignal();
        const pool = await ctx.pool();
        try {
          await pool.use(model, { signal: interrupt.signal }, async (loaded) => {
            const result = await loaded.embed(texts, { truncate: options.truncate ?? false, signal: interrupt.signal });
            const { pooling, normalize, digest, cpuVariant, engineVersion, threads, parallel } = loaded.identity;
            const items = result.vectors.map((vector, i) => ({
              model,
              dims: vector.length,
              norm: l2norm(vector),
              tokens: result.tokens[i],
              pooling,
              normalized: normalize,
              ...(options.full ? { vector: Array.from(vector) } : {}),
            }));
            writeJson(ctx.stdout, texts.length === 1 ? { ...items[0], runtime: { digest, engineVersion, cpuVariant, threads, parallel } } : items);
          });
        } finally {
          interrupt.dispose();
        }
      }),
    );
