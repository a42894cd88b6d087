import { Command } from 'commander';
import { diagnose } from '../../store/doctor.js';
import type { CommandFactory } from '../command.js';
import { formatBytes, writeJson } from '../format.js';

export const doctorCommand: CommandFactory = (run) =>
  new Command('doctor')
    .description('show the cache directory, offline state, free disk, symlink support and what is cached')
    .option('--json', 'print JSON')
    .action(
      run(async (ctx, options: { json?: boolean }) => {
        const report = await diagnose(ctx.store(), ctx.config.token !== undefined);
        if (options.json) return writeJson(ctx.stdout, report);
        const lines: Array<[string, string]> = [
          ['cache dir', `${report.cacheDir}${report.writable ? '' : '  (NOT WRITABLE)'}`],
          ['hearth home', `${report.home}${report.homeWritable === null ? '  (does not exist yet; made on the first write)' : report.homeWritable ? '' : '  (NOT WRITABLE: verified-at and last-used are not kept)'}`],
          ['hub endpoint', report.endpoint],
          ['offline', report.offline ? 'yes (no network calls)' : 'no'],
          ['hub token', report.tokenConfigured ? 'configured' : 'not set'],
          ['free disk', formatBytes(report.freeBytes)],
          ['symlinks', report.symlinksDetail],
          ['cached', `${report.models} models, ${report.files} files, ${formatBytes(report.storedBytes)}`],
        ];
        for (const [k, v] of lines) ctx.stdout.write(`${k.padEnd(14)}${v}\n`);
        const width = Math.max(0, ...report.cached.map((m) => m.ref.length));
        for (const m of report.cached) {
          ctx.stdout.write(`${''.padEnd(14)}${m.ref.padEnd(width)}  ${formatBytes(m.size).padStart(9)}  ${m.files} ${m.files === 1 ? 'file' : 'files'}\n`);
        }
      }),
    );
