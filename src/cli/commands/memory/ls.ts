import { Command } from 'commander';
import type { CommandFactory } from '../../command.js';
import { table, writeJson } from '../../format.js';

export const lsCommand: CommandFactory = (run) =>
  new Command('ls')
    .alias('list')
    .description('list the collections: name, space, dimensions, documents, chunks and index (exact search, or an HNSW index)')
    .option('--json', 'print JSON')
    .action(
      run(async (ctx, options: { json?: boolean }) => {
        const memory = await ctx.memory();
        const collections = await memory.list();
        const rows = [];
        for (const c of collections) rows.push({ name: c.name, space: c.space, dimensions: c.dimensions, indexState: c.indexState, recall: c.recall, ...(await memory.store.counts(c)) });
        if (options.json) return writeJson(ctx.stdout, rows);
        if (rows.length === 0) {
          ctx.stdout.write(`no collections yet (${memory.engine.kind} database): hearth memory create makes one\n`);
          return;
        }
        ctx.stdout.write(
          table(
            ['NAME', 'SPACE', 'DIMS', 'DOCUMENTS', 'CHUNKS', 'INDEX'],
            rows.map((r) => [r.name, r.space, String(r.dimensions), String(r.documents), String(r.chunks), r.indexState]),
          ),
        );
      }),
    );
