import { Command } from 'commander';
import type { CommandFactory } from '../../command.js';
import { table, writeJson } from '../../format.js';
import { spaceSummary } from './present.js';

export const showCommand: CommandFactory = (run) =>
  new Command('show')
    .description('print a space without its vectors: the model, the runtime that made it, the fingerprints and the probe set')
    .argument('<name>', 'the space to show')
    .option('--json', 'print JSON')
    .action(
      run(async (ctx, name: string, options: { json?: boolean }) => {
        const summary = spaceSummary(await (await ctx.spaces()).get(name));
        if (options.json) return writeJson(ctx.stdout, summary);
        ctx.stdout.write(table(['FIELD', 'VALUE'], fields(summary)));
      }),
    );

/** Nested records as dotted field names ("model.pooling"), the names a check's diff uses; digests in full. */
function fields(value: unknown, prefix = ''): string[][] {
  if (Array.isArray(value)) return value.flatMap((v, i) => fields(v, `${prefix}[${i}]`));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, v]) => fields(v, prefix ? `${prefix}.${key}` : key));
  }
  return [[prefix, typeof value === 'string' ? value : JSON.stringify(value)]];
}
