import { Command } from 'commander';
import { diagnose } from '../../store/doctor.js';
import type { CommandFactory } from '../command.js';
import { formatBytes, writeJson } from '../format.js';

export const doctorCommand: CommandFactory = (run) =>
  new Command('doctor')
    .description('show the cache directory, offline state, free disk and what is cached')
    .option('--json', 'print JSON')
    .action(
      run(async (ctx, options: { json?: boolean }) => {
        const report = await diagnose(ctx.store(), ctx.config.token !== undefined);
        if (options.json) return writeJson(ctx.stdout, report);
        const lines: Array<[string, string]> = [
          ['cache dir', `${report.cacheDir}${report.writable ? '' : '  (NOT WRITABLE)'}`],
          ['hearth home', report.home],
          ['hub endpoint', report.endpoint],
          ['offline', report.offline ? 'yes (no network calls)' : 'no'],
          ['hub token', report.tokenConfigured ? 'configured' : 'not set'],
          ['free disk', formatBytes(report.freeBytes)],
          ['symlinks', report.symlinks ? 'supported' : 'not supported (files are copied)'],
          ['cached', `${report.files} files, ${formatBytes(report.storedBytes)}`],
        ];
        for (const [k, v] of lines) ctx.stdout.write(`${k.padEnd(14)}${v}\n`);
      }),
    );
