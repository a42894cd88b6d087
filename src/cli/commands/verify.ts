import { Command } from 'commander';
import type { CommandFactory } from '../command.js';
import { interruptSignal } from '../command.js';
import { formatBytes, table, writeJson } from '../format.js';

/** Exit status when corruption remains: EX_DATAERR, like the BLOB_CORRUPT code. */
const CORRUPT_EXIT = 65;

export const verifyCommand: CommandFactory = (run) =>
  new Command('verify')
    .description('re-hash stored blobs offline; --repair re-downloads corrupt ones (online) or quarantines them (offline)')
    .argument('[ref]', 'verify one model instead of the whole store')
    .option('--repair', 'repair or quarantine corrupt blobs')
    .option('--json', 'print JSON')
    .action(
      run(async (ctx, ref: string | undefined, options: { repair?: boolean; json?: boolean }) => {
        const interrupt = interruptSignal();
        try {
          const report = await ctx.store().verify(ref, { repair: options.repair ?? false, signal: interrupt.signal });
          if (options.json) writeJson(ctx.stdout, report);
          else {
            const rows = report.items.map((i) => [i.status.toUpperCase(), i.source, i.digest.slice(0, 16), formatBytes(i.size), i.detail ?? '']);
            ctx.stdout.write(rows.length ? table(['STATUS', 'SOURCE', 'DIGEST', 'SIZE', 'DETAIL'], rows) : 'nothing to verify\n');
            ctx.stdout.write(`${report.items.length} checked, ${report.failed} corrupt\n`);
          }
          return report.failed > 0 ? CORRUPT_EXIT : 0;
        } finally {
          interrupt.dispose();
        }
      }),
    );
