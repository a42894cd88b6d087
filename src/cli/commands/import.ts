import { Command } from 'commander';
import { resolve } from 'node:path';
import type { CommandFactory } from '../command.js';
import { interruptSignal } from '../command.js';

export const importCommand: CommandFactory = (run) =>
  new Command('import')
    .description('import a bundle made by hearth export; every blob is verified before it is published')
    .argument('<bundle>', 'bundle file')
    .action(
      run(async (ctx, bundle: string) => {
        const interrupt = interruptSignal();
        try {
          const report = await ctx.store().importBundle(resolve(bundle), { signal: interrupt.signal });
          ctx.stdout.write(`imported ${report.models.join(', ')} (${report.written} blobs written, ${report.reused} already present)\n`);
        } finally {
          interrupt.dispose();
        }
      }),
    );
