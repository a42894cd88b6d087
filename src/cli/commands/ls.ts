import { Command } from 'commander';
import type { StoreEntry } from '../../store/index.js';
import type { CommandFactory } from '../command.js';
import { formatBytes, formatTime, table, writeJson } from '../format.js';

export const lsCommand: CommandFactory = (run) =>
  new Command('ls')
    .alias('list')
    .description('list stored models: name, ref, revision, file (the primary one for multi-file models), total size, verified-at, last-used')
    .option('--json', 'print JSON')
    .action(
      run(async (ctx, options: { json?: boolean }) => {
        const store = ctx.store();
        const [entries, names] = await Promise.all([store.list(), store.names()]);
        // The name is what every command and API accepts (stories260k:latest); the ref is what it stands for.
        const named: Array<StoreEntry & { name: string; definition?: { from: string; createdAt: string } }> = entries.map((e) => ({ name: names.nameOf(e.ref) ?? e.ref, ...e }));
        // A definition (create, cp) is listed beside its model, with the model's files, as Ollama lists a copy.
        for (const definition of store.definitions.list()) {
          const base = store.definition(definition.name) && named.find((e) => e.ref === store.parse(definition.from).text);
          if (base) named.push({ ...base, name: definition.name, definition: { from: definition.from, createdAt: definition.createdAt } });
        }
        if (options.json) return writeJson(ctx.stdout, named);
        if (entries.length === 0) {
          ctx.stdout.write(`no models stored in ${ctx.config.hubCache}\n`);
          return;
        }
        const rows = named.map((e) => [
          e.name,
          e.definition ? `definition over ${names.nameOf(e.ref) ?? e.ref}` : e.ref,
          e.revision ?? (e.commit ? e.commit.slice(0, 12) : '-'),
          e.files && e.files.length > 1 ? `${e.file} (+${e.files.length - 1} files)` : e.file,
          formatBytes(e.size),
          formatTime(e.verifiedAt),
          formatTime(e.lastUsedAt),
        ]);
        ctx.stdout.write(table(['NAME', 'REF', 'REVISION', 'FILE', 'SIZE', 'VERIFIED', 'LAST USED'], rows));
      }),
    );
