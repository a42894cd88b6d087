import { Command } from 'commander';
import type { CommandFactory } from '../../command.js';
import { formatTime, table, writeJson } from '../../format.js';
import { spaceSummary } from './present.js';

export const lsCommand: CommandFactory = (run) =>
  new Command('ls')
    .alias('list')
    .description('list the spaces: name, model, dimensions, engine, CPU kernel variant, created-at; a damaged space file is listed with its error')
    .option('--json', 'print JSON')
    .action(
      run(async (ctx, options: { json?: boolean }) => {
        const spaces = await ctx.spaces();
        const listings = await spaces.list();
        if (options.json) {
          return writeJson(
            ctx.stdout,
            listings.map((l) => (l.record ? spaceSummary(l.record) : { name: l.name, error: l.error.toJSON() })),
          );
        }
        if (listings.length === 0) {
          ctx.stdout.write(`no embedding spaces in ${spaces.registry.dir}\n`);
          return;
        }
        const rows = listings.map((l) =>
          l.record
            ? [l.name, l.record.model.ref, String(l.record.model.dimensions), l.record.runtime.engine, l.record.runtime.cpuVariant ?? '-', formatTime(l.record.createdAt)]
            : // A file that cannot be read is shown, never skipped: its owner decides what to do with it.
              [l.name, `error[${l.error.code}]`, '-', '-', '-', '-'],
        );
        ctx.stdout.write(table(['NAME', 'MODEL', 'DIMS', 'ENGINE', 'CPU VARIANT', 'CREATED'], rows));
        for (const l of listings) if (l.error) ctx.stderr.write(`warning: space ${l.name}: error[${l.error.code}]: ${l.error.message}\n`);
      }),
    );
