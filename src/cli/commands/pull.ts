import { Command } from 'commander';
import type { PullResult } from '../../store/index.js';
import type { CommandFactory } from '../command.js';
import { interruptSignal } from '../command.js';
import { formatBytes, writeJson } from '../format.js';
import { createProgressView } from '../progress.js';

export const pullCommand: CommandFactory = (run) =>
  new Command('pull')
    .description('download models into the store (verified, resumable); offline, check they are cached')
    .argument('<refs...>', 'hf:<owner>/<repo>[@rev] (a whole model), hf:<owner>/<repo>/<file>[@rev], hf:<owner>/<repo>:<quant or onnx variant>, https://…, a local file or directory, or an alias')
    .option('--json', 'print the result as JSON')
    .action(
      run(async (ctx, refs: string[], options: { json?: boolean }) => {
        const interrupt = interruptSignal();
        const view = createProgressView(ctx.stderr);
        try {
          const results = [];
          for (const ref of refs) {
            const result = await ctx.store().pull(ref, { signal: interrupt.signal, onProgress: (e) => view.onEvent(e) });
            results.push(result);
            if (!options.json) {
              const size = result.files.reduce((n, f) => n + f.size, 0);
              // An alias is named with what it stands for, so the line says which model it was.
              const name = Object.hasOwn(ctx.config.aliases, ref) ? `${ref} (alias of ${result.ref})` : result.ref;
              view.stop();
              ctx.stdout.write(`${name}\t${result.primary.localPath}\t${formatBytes(size)}\t${outcome(result, size)}\n`);
            }
          }
          if (options.json) writeJson(ctx.stdout, results);
        } finally {
          view.stop();
          interrupt.dispose();
        }
      }),
    );

function outcome(result: PullResult, size: number): string {
  const what = result.files.length > 1 ? `directory (${result.files.length} files, primary ${result.primary.path})` : 'file';
  switch (result.outcome) {
    case 'downloaded':
      return `downloaded ${formatBytes(result.received)}`;
    case 'registered':
      return `registered ${what}: ${formatBytes(size)}, sha256 ${result.primary.digest}`;
    case 'updated':
      return `registered again, content changed: ${what}, ${formatBytes(size)}, sha256 ${result.primary.digest}`;
    case 'up-to-date':
      return 'up to date';
  }
}
