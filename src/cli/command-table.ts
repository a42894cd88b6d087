import type { CommandFactory } from './command.js';

/** A top-level command: its names (as typed, aliases included) and how to load its definition. */
export interface CommandEntry {
  names: readonly string[];
  load: () => Promise<CommandFactory>;
}

/**
 * Every top-level command, in the order help lists them. A command's module is
 * loaded only when that command runs: loading all 21 and what they import
 * (jobs, memory, audio, spaces) took ~210 ms of every start on 2 vCPUs, 80% of
 * `hearth --version`, and it sat in front of `serve`'s first model load.
 */
export const COMMANDS: readonly CommandEntry[] = [
  { names: ['serve'], load: async () => (await import('./commands/serve.js')).serveCommand },
  { names: ['ps'], load: async () => (await import('./commands/ps.js')).psCommand },
  { names: ['run'], load: async () => (await import('./commands/run.js')).runCommand },
  { names: ['embed'], load: async () => (await import('./commands/embed.js')).embedCommand },
  { names: ['audio'], load: async () => (await import('./commands/audio/index.js')).audioCommand },
  { names: ['speaker'], load: async () => (await import('./commands/speaker/index.js')).speakerCommand },
  { names: ['enrich'], load: async () => (await import('./commands/enrich.js')).enrichCommand },
  { names: ['ingest'], load: async () => (await import('./commands/ingest.js')).ingestCommand },
  { names: ['pull'], load: async () => (await import('./commands/pull.js')).pullCommand },
  { names: ['ls', 'list'], load: async () => (await import('./commands/ls.js')).lsCommand },
  { names: ['rm', 'remove'], load: async () => (await import('./commands/rm.js')).rmCommand },
  { names: ['create'], load: async () => (await import('./commands/create.js')).createCommand },
  { names: ['cp', 'copy'], load: async () => (await import('./commands/cp.js')).copyCommand },
  { names: ['verify'], load: async () => (await import('./commands/verify.js')).verifyCommand },
  { names: ['gc'], load: async () => (await import('./commands/gc.js')).gcCommand },
  { names: ['export'], load: async () => (await import('./commands/export.js')).exportCommand },
  { names: ['import'], load: async () => (await import('./commands/import.js')).importCommand },
  { names: ['space'], load: async () => (await import('./commands/space/index.js')).spaceCommand },
  { names: ['memory'], load: async () => (await import('./commands/memory/index.js')).memoryCommand },
  { names: ['worker'], load: async () => (await import('./commands/worker.js')).workerCommand },
  { names: ['doctor'], load: async () => (await import('./commands/doctor.js')).doctorCommand },
];

/**
 * The definitions a command line needs: only its command's, when it names
 * one; all of them otherwise (help, --version, a mistyped command, which
 * commander answers with a suggestion from the full list).
 */
export async function commandsFor(argv: readonly string[]): Promise<CommandFactory[]> {
  // The root command takes no option with a value, so the first word that is not an option names the command.
  const word = argv.slice(2).find((a) => !a.startsWith('-'));
  const named = COMMANDS.find((c) => word !== undefined && c.names.includes(word));
  return Promise.all((named ? [named] : COMMANDS).map((c) => c.load()));
}
