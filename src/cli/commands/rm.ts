import { Command } from 'commander';
import type { CommandFactory } from '../command.js';
import { formatBytes, writeJson } from '../format.js';

export const rmCommand: CommandFactory = (run) =>
  new Command('rm')
    .alias('remove')
    .description('remove models from the store (local files are only unregistered, never deleted)')
    .argument('<refs...>', 'references to remove; hf:<owner>/<repo> removes the whole repo')
    .option('--json', 'print JSON')
    .action(
      run(async (ctx, refs: string[], options: { json?: boolean }) => {
        const reports = [];
        for (const ref of refs) reports.push(await ctx.store().remove(ref));
        if (options.json) return writeJson(ctx.stdout, reports);
        for (const r of reports) ctx.stdout.write(`removed ${r.ref} (${formatBytes(r.freedBytes)} freed)\n`);
      }),
    );
