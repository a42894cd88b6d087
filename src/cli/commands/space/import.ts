import { Command } from 'commander';
import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { HearthError } from '../../../errors/index.js';
import { fsError } from '../../../store/fs-utils.js';
import type { CommandFactory } from '../../command.js';
import { writeJson } from '../../format.js';
import { oneLine, spaceSummary } from './present.js';

/**
 * Far beyond any space file (48 probes of 8,192 dimensions take about 2 MB):
 * a model file or a disk image passed by mistake is refused before it is read into memory.
 */
const MAX_BYTES = 64 * 1024 * 1024;

export const importCommand: CommandFactory = (run) =>
  new Command('import')
    .description('read a space file written by hearth space export; a file whose fingerprints do not match its content is refused and nothing is stored')
    .argument('<file>', 'the space file, or - for stdin')
    .option('--name <name>', 'store it under another name')
    .option('-m, --model <ref>', "where this machine's copy of the model is (the same bytes: the check still compares them)")
    .option('--force', 'replace a space of the same name')
    .option('--json', 'print the imported space (without its vectors) as JSON')
    .action(
      run(async (ctx, file: string, options: { name?: string; model?: string; force?: boolean; json?: boolean }) => {
        const source = file === '-' ? 'stdin' : resolve(file);
        const text = file === '-' ? await readStream(process.stdin, source) : await readFileCapped(source);
        const record = await (await ctx.spaces()).import(text, source, { name: options.name, model: options.model, force: options.force });
        if (options.json) return writeJson(ctx.stdout, spaceSummary(record));
        ctx.stdout.write(`imported space ${record.name} from ${source}: ${oneLine(record)}\n`);
      }),
    );

async function readFileCapped(path: string): Promise<string> {
  try {
    const handle = await open(path, 'r');
    try {
      return await readStream(handle.createReadStream({ autoClose: false }), path);
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw fsError(error, 'read', path);
  }
}

/** Reads a stream as text, refusing it once it passes MAX_BYTES (stdin has no size to look at first). */
async function readStream(stream: AsyncIterable<Buffer | string>, source: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += bytes.length;
    if (size > MAX_BYTES) {
      throw new HearthError('SPACE_FILE_INVALID', `${source} is not a valid hearth space: it is larger than ${MAX_BYTES / 1024 / 1024} MiB, far beyond any space file`, {
        details: { source },
        hint: 'pass the file hearth space export wrote',
      });
    }
    chunks.push(bytes);
  }
  return Buffer.concat(chunks).toString('utf8');
}
