import { Command } from 'commander';
import { resolve } from 'node:path';
import { HearthError } from '../../../errors/index.js';
import { writeFileAtomic, writeFileExclusive } from '../../../store/fs-utils.js';
import type { CommandFactory } from '../../command.js';

export const exportCommand: CommandFactory = (run) =>
  new Command('export')
    .description('write a space as a small JSON file (to stdout, or to a file) that hearth space import reads on another machine')
    .argument('<name>', 'the space to export')
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .option('--force', 'replace the output file if it exists')
    .action(
      run(async (ctx, name: string, options: { output?: string; force?: boolean }) => {
        const text = await (await ctx.spaces()).export(name);
        if (options.output === undefined) {
          ctx.stdout.write(text);
          return;
        }
        const path = resolve(options.output);
        await (options.force ? writeFileAtomic(path, text) : writeNew(path, text));
        ctx.stdout.write(`exported space ${name} to ${path}\n`);
      }),
    );

async function writeNew(path: string, text: string): Promise<void> {
  if ((await writeFileExclusive(path, text)) === 'exists') {
    throw new HearthError('USAGE', `${path} exists; it was left as it is`, { details: { path }, hint: 'choose another file, or add --force to replace it' });
  }
}
