import { Command } from 'commander';
import { l2norm } from '../../runtime/vector.js';
import type { CommandFactory } from '../command.js';
import { interruptSignal } from '../command.js';
import { writeJson } from '../format.js';

export const embedCommand: CommandFactory = (run) =>
  new Command('embed')
    .description('print the embeddings of one or more texts as JSON, without a server: model, runtime, dims, pooling, and per text its tokens and norm (and vector with --full)')
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
            const { engine, engineVersion, device, cpuVariant, digest, threads, parallel, contextSize, pooling, normalize } = loaded.identity;
            // One shape for any number of texts, so a script never branches on how many it passed.
            writeJson(ctx.stdout, {
              model,
              // null rather than absent, so every key is there whatever the backend knows.
              runtime: { engine, engineVersion, device, cpuVariant: cpuVariant ?? null, digest: digest ?? null, threads, parallel, contextSize },
              dims: result.vectors[0]?.length ?? 0,
              pooling: pooling ?? null,
              normalized: normalize ?? null,
              embeddings: result.vectors.map((vector, index) => ({
                index,
                text: texts[index],
                tokens: result.tokens[index],
                norm: l2norm(vector),
                ...(options.full ? { vector: Array.from(vector) } : {}),
              })),
            });
          });
        } finally {
          interrupt.dispose();
        }
      }),
    );
