import { Command } from 'commander';
import type { CommandFactory } from '../command.js';
import { interruptSignal } from '../command.js';
import { formatBytes, table, writeJson } from '../format.js';

/** Exit status when corruption remains: EX_DATAERR, like the BLOB_CORRUPT code. */
const CORRUPT_EXIT = 65;

export const verifyCommand: CommandFactory = (run) =>
  new Command('verify')
    .description('re-hash stored blobs offline, and find snapshot links whose blob is missing; --repair re-downloads (online) or quarantines (offline)')
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
            // One row per file, by its path in the model; the model is named on its first row only.
            const rows = report.items.map((i, n) => [
              i.status.toUpperCase(),
              n > 0 && report.items[n - 1]!.model === i.model ? '' : i.model,
              i.files.length > 0 ? i.files.join(', ') : '(no snapshot links to it)',
              i.digest.slice(0, 16),
              formatBytes(i.size),
              i.detail ?? '',
            ]);
            ctx.stdout.write(rows.length ? table(['STATUS', 'MODEL', 'FILE', 'DIGEST', 'SIZE', 'DETAIL'], rows) : 'nothing to verify\n');
            const count = (...statuses: string[]) => report.items.filter((i) => statuses.includes(i.status)).length;
            ctx.stdout.write(`${report.items.length} checked, ${count('corrupt', 'quarantined')} corrupt, ${count('missing')} missing\n`);
          }
          return report.failed > 0 ? CORRUPT_EXIT : 0;
        } finally {
          interrupt.dispose();
        }
      }),
    );
