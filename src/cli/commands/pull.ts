import { Command } from 'commander';
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
              const how = result.upToDate ? 'up to date' : `downloaded ${formatBytes(result.received)}`;
              view.stop();
              ctx.stdout.write(`${result.ref}\t${result.primary.localPath}\t${formatBytes(size)}\t${how}\n`);
            }
          }
          if (options.json) writeJson(ctx.stdout, results);
        } finally {
          view.stop();
          interrupt.dispose();
        }
      }),
    );
