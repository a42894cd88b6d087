import { Command } from 'commander';
import type { CommandFactory } from '../../command.js';
import { interruptSignal } from '../../command.js';
import { table, writeJson } from '../../format.js';
import { oneLineText, parseJsonObject, parsePositiveInt, parseSimilarity, queryOf } from './present.js';

interface QueryOptions {
  topK?: string;
  minSimilarity?: string;
  filter?: string;
  vector?: string;
  json?: boolean;
}

export const queryCommand: CommandFactory = (run) =>
  new Command('query')
    .description("find the chunks closest to a text (embedded with the collection's space, after its check) or to a vector: similarity, document, chunk number and the start of the text, best first")
    .argument('<name>', 'the collection')
    .argument('[text]', 'what to look for')
    .option('-k, --top-k <n>', 'how many chunks to return', '10')
    .option('--min-similarity <x>', 'leave out chunks less similar than this (cosine similarity, -1 to 1; 0.5 is a common threshold)')
    .option('--filter <json>', 'only documents whose metadata contains this JSON object, such as \'{"kind": "note"}\'')
    .option('--vector <json>', 'query by this vector (a JSON array of the collection\'s dimensions) instead of a text')
    .option('--json', 'print the hits in full as JSON, metadata and whole chunk text included')
    .action(
      run(async (ctx, name: string, text: string | undefined, options: QueryOptions) => {
        const topK = parsePositiveInt(options.topK ?? '10', '--top-k');
        const minSimilarity = options.minSimilarity === undefined ? undefined : parseSimilarity(options.minSimilarity, '--min-similarity');
        const filter = options.filter === undefined ? undefined : parseJsonObject(options.filter, '--filter');
        const interrupt = interruptSignal();
        try {
          const query = queryOf(text, options.vector, interrupt.signal);
          const hits = await (await ctx.memory()).query(name, { ...query, topK, minSimilarity, filter });
          if (options.json) return writeJson(ctx.stdout, hits);
          if (hits.length === 0) {
            ctx.stdout.write(`no chunk matches${minSimilarity === undefined ? '' : ` at similarity ${minSimilarity} or more`}${filter === undefined ? '' : ' with that filter'}\n`);
            return;
          }
          ctx.stdout.write(table(['SIMILARITY', 'DOC', 'CHUNK', 'TEXT'], hits.map((h) => [h.similarity.toFixed(4), h.docId, String(h.chunk), oneLineText(h.text)])));
        } finally {
          interrupt.dispose();
        }
      }),
    );
