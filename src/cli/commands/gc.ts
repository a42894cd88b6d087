import { Command } from 'commander';
import { parseDuration } from '../../config/index.js';
import { HearthError } from '../../errors/index.js';
import type { CommandFactory } from '../command.js';
import { formatBytes, writeJson } from '../format.js';

export const gcCommand: CommandFactory = (run) =>
  new Command('gc')
    .description('delete unreferenced blobs and stale partial downloads older than a grace period')
    .option('--grace <duration>', 'only remove items older than this (e.g. 1h, 30m, 0)')
    .option('--dry-run', 'show what would be removed')
    .option('--json', 'print JSON')
    .action(
      run(async (ctx, options: { grace?: string; dryRun?: boolean; json?: boolean }) => {
        let graceMs: number | undefined;
        try {
          graceMs = options.grace === undefined ? undefined : parseDuration(options.grace);
        } catch (error) {
          throw new HearthError('USAGE', (error as Error).message, { cause: error });
        }
        const report = await ctx.store().gc({ graceMs, dryRun: options.dryRun ?? false });
        if (options.json) return writeJson(ctx.stdout, report);
        for (const item of report.removed) ctx.stdout.write(`${report.dryRun ? 'would remove' : 'removed'} ${item.reason} ${item.path} (${formatBytes(item.bytes)})\n`);
        ctx.stdout.write(`${report.dryRun ? 'would free' : 'freed'} ${formatBytes(report.freedBytes)} in ${report.removed.length} items\n`);
      }),
    );
