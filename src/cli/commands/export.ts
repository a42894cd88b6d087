import { Command } from 'commander';
import { resolve } from 'node:path';
import type { CommandFactory } from '../command.js';
import { interruptSignal } from '../command.js';
import { formatBytes } from '../format.js';

export const exportCommand: CommandFactory = (run) =>
  new Command('export')
    .description('write cached models to a tar bundle for an air-gapped machine')
    .argument('<refs...>', 'models to export (must be cached)')
    .requiredOption('-o, --output <file>', 'bundle file to write')
    .action(
      run(async (ctx, refs: string[], options: { output: string }) => {
        const interrupt = interruptSignal();
        try {
          const report = await ctx.store().exportBundle(refs, resolve(options.output), { signal: interrupt.signal });
          ctx.stdout.write(`exported ${report.models.join(', ')} (${formatBytes(report.bytes)}) to ${report.file}\n`);
        } finally {
          interrupt.dispose();
        }
      }),
    );
