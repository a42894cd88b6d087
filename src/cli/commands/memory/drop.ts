import { Command } from 'commander';
import { createInterface } from 'node:readline/promises';
import { HearthError } from '../../../errors/index.js';
import type { CommandFactory } from '../../command.js';
import { plural } from './present.js';

export const dropCommand: CommandFactory = (run) =>
  new Command('drop')
    .description('delete a collection with all its documents and vectors; its embedding space stays (hearth space rm removes it). Asks first unless --yes')
    .argument('<name>', 'the collection')
    .option('-y, --yes', 'do not ask (needed when stdin is not a terminal)')
    .action(
      run(async (ctx, name: string, options: { yes?: boolean }) => {
        const interactive = process.stdin.isTTY === true;
        if (!options.yes && !interactive) {
          throw new HearthError('USAGE', `dropping collection ${name} deletes its documents and vectors, and there is no terminal to ask`, { hint: `add --yes: hearth memory drop ${name} --yes` });
        }
        const memory = await ctx.memory();
        const collection = await memory.get(name);
        if (!options.yes) {
          const counts = await memory.store.counts(collection);
          const question = `drop collection ${name}: ${plural(counts.documents, 'document')}, ${plural(counts.chunks, 'chunk')}? The space ${collection.space} stays. [y/N] `;
          if (!(await confirm(question, ctx.stderr))) {
            ctx.stdout.write(`kept collection ${name}\n`);
            return 0;
          }
        }
        await memory.drop(name);
        ctx.stdout.write(`dropped collection ${name}\n`);
      }),
    );

async function confirm(question: string, output: NodeJS.WritableStream): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}
