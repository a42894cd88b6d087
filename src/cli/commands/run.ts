import { Command } from 'commander';
import { withDefinition } from '../../pool/with-definition.js';
import type { GenerateRequest } from '../../runtime/types.js';
import type { CommandFactory } from '../command.js';
import { interruptSignal } from '../command.js';

interface RunOptions {
  system?: string;
  raw?: boolean;
  maxTokens?: string;
  temperature?: string;
  topP?: string;
  seed?: string;
  stop?: string[];
  verbose?: boolean;
}

export const runCommand: CommandFactory = (run) =>
  new Command('run')
    .description('generate text from a model without a server, streaming to the terminal')
    .argument('<model>', 'a model reference or alias (must be in the store)')
    .argument('<prompt>', 'the prompt')
    .option('--system <text>', 'system message (chat models)')
    .option('--raw', 'plain completion: no chat template (a model without one always runs as a plain completion)')
    .option('--max-tokens <n>', "stop after this many tokens (default: the model definition's num_predict, else 256)")
    .option('--temperature <t>', 'sampling temperature')
    .option('--top-p <p>', 'nucleus sampling')
    .option('--seed <n>', 'sampling seed, for repeatable output')
    .option('--stop <text...>', 'stop sequences')
    .option('--verbose', 'print timing and the runtime identity to stderr')
    .action(
      run(async (ctx, model: string, prompt: string, options: RunOptions) => {
        const interrupt = interruptSignal();
        // A model made by create or copy brings its template, system prompt and parameters.
        const definition = ctx.store().definition(model);
        const pool = await ctx.pool();
        const lease = await pool.acquire(model, { signal: interrupt.signal });
        try {
          const sampling = {
            maxTokens: options.maxTokens !== undefined ? Number(options.maxTokens) : definition?.parameters.num_predict && definition.parameters.num_predict > 0 ? definition.parameters.num_predict : 256,
            temperature: num(options.temperature),
            topP: num(options.topP),
            seed: num(options.seed),
            stop: options.stop,
            signal: interrupt.signal,
          };
          const request: GenerateRequest = !options.raw
            ? { ...sampling, kind: 'chat', messages: [...(options.system ? [{ role: 'system' as const, content: options.system }] : []), { role: 'user', content: prompt }] }
            : { ...sampling, kind: 'completion', prompt };
          const started = performance.now();
          let firstToken: number | undefined;
          for await (const event of lease.model.generate(withDefinition(request, definition))) {
            if (event.type === 'text') {
              firstToken ??= performance.now();
              ctx.stdout.write(event.text);
            } else if (event.type === 'done') {
              ctx.stdout.write('\n');
              if (options.verbose) {
                const seconds = (performance.now() - (firstToken ?? started)) / 1000;
                ctx.stderr.write(
                  `prompt tokens: ${event.promptTokens}\ncompletion tokens: ${event.completionTokens}\nfirst token: ${Math.round((firstToken ?? started) - started)} ms\n` +
                    `rate: ${(event.completionTokens / Math.max(seconds, 1e-6)).toFixed(1)} tok/s\nstop: ${event.stopReason}\n` +
                    `runtime: ${JSON.stringify(lease.model.identity)}\n`,
                );
              }
            }
          }
        } finally {
          lease.release();
          interrupt.dispose();
        }
      }),
    );

function num(value: string | undefined): number | undefined {
  return value === undefined ? undefined : Number(value);
}
