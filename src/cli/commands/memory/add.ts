import { Command } from 'commander';
import cliProgress from 'cli-progress';
import { throwIfAborted } from '../../../errors/index.js';
import type { DocumentInput } from '../../../memory/memory.js';
import type { CommandFactory } from '../../command.js';
import { interruptSignal } from '../../command.js';
import { writeJson } from '../../format.js';
import { gatherDocuments } from './add-sources.js';
import { parseJsonObject } from './present.js';

/** Documents handed to memory.add at once: each call is one guarded lease and a few transactions, and bounds what is held in memory. */
const BATCH_DOCUMENTS = 64;

interface AddOptions {
  text?: string;
  id?: string;
  metadata?: string;
  json?: boolean;
}

export const addCommand: CommandFactory = (run) =>
  new Command('add')
    .description(
      "add documents to a collection: files (the id is the path from here), folders (every text file inside; dot-files and binary files are skipped), - for stdin, or --text. A document whose text is already stored under its id is not embedded again; an interrupted add keeps what it wrote, and running it again embeds only the rest",
    )
    .argument('<name>', 'the collection')
    .argument('[paths...]', 'files and folders to add, and - to read one document from stdin')
    .option('-t, --text <text>', 'add this text as one document (its id is its sha256 unless --id)')
    .option('--id <id>', 'the id of the one document given by --text, - or a single file')
    .option('--metadata <json>', 'a JSON object merged into every document\'s metadata (files have {"path": ...})')
    .option('--json', 'print the summary as JSON')
    .action(
      run(async (ctx, name: string, paths: string[], options: AddOptions) => {
        const metadata = options.metadata === undefined ? {} : parseJsonObject(options.metadata, '--metadata');
        const pending = await gatherDocuments(paths, { text: options.text, id: options.id, metadata, cwd: process.cwd(), stdin: process.stdin });
        const memory = await ctx.memory();
        // Before anything is read: an unknown collection fails now, not after the first batch.
        await memory.get(name);
        const interrupt = interruptSignal();
        const progress = ctx.stderr.isTTY ? barView(ctx.stderr, pending.length) : undefined;
        const note = (line: string) => (progress ? progress.log(line) : ctx.stderr.write(`${line}\n`));
        const total = { added: 0, unchanged: 0, chunks: 0 };
        const skipped: Array<{ document: string; reason: string }> = [];
        try {
          for (let start = 0; start < pending.length; start += BATCH_DOCUMENTS) {
            throwIfAborted(interrupt.signal);
            const batch = pending.slice(start, start + BATCH_DOCUMENTS);
            const documents: DocumentInput[] = [];
            for (const doc of batch) {
              const loaded = await doc.load();
              if ('skipped' in loaded) {
                skipped.push({ document: doc.label, reason: loaded.skipped });
                note(`skipped ${doc.label}: ${loaded.skipped}`);
              } else documents.push(loaded);
            }
            if (documents.length > 0) {
              const report = await memory.add(name, documents, interrupt.signal);
              total.added += report.added;
              total.unchanged += report.unchanged;
              total.chunks += report.chunks;
            }
            progress?.update(start + batch.length, total.chunks);
          }
        } finally {
          progress?.stop();
          interrupt.dispose();
        }
        if (options.json) return writeJson(ctx.stdout, { collection: name, ...total, skipped });
        ctx.stdout.write(`collection ${name}: added ${total.added}, unchanged ${total.unchanged}, chunks ${total.chunks}, skipped ${skipped.length}\n`);
      }),
    );

/** A bar of documents done on a terminal; notes are printed above it rather than through it. */
function barView(stream: NodeJS.WriteStream, documents: number) {
  const multi = new cliProgress.MultiBar(
    { stream, format: ' adding |{bar}| {value}/{total} documents, {chunks} chunks', hideCursor: true, clearOnComplete: false, autopadding: true },
    cliProgress.Presets.shades_classic,
  );
  const bar = multi.create(documents, 0, { chunks: 0 });
  return {
    log: (line: string) => multi.log(`${line}\n`),
    update: (done: number, chunks: number) => bar.update(done, { chunks }),
    stop: () => multi.stop(),
  };
}
