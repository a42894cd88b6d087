import { Command } from 'commander';
import type { CommandFactory } from '../../command.js';
import { addCommand } from './add.js';
import { createCommand } from './create.js';
import { diagnoseCommand } from './diagnose.js';
import { dropCommand } from './drop.js';
import { gcCommand } from './gc.js';
import { lsCommand } from './ls.js';
import { migrateCommand } from './migrate.js';
import { ABOUT_MEMORY } from './present.js';
import { queryCommand } from './query.js';
import { rmCommand } from './rm.js';
import { statsCommand } from './stats.js';

const subcommands: CommandFactory[] = [createCommand, lsCommand, addCommand, queryCommand, rmCommand, statsCommand, diagnoseCommand, dropCommand, migrateCommand, gcCommand];

export const memoryCommand: CommandFactory = (run) => {
  const group = new Command('memory')
    .description('vector memory: collections of documents, chunked and embedded in one embedding space, searched by similarity')
    .addHelpText('after', `\n${ABOUT_MEMORY}`);
  for (const factory of subcommands) {
    // As for `hearth space`: without its own exitOverride a subcommand's usage error would exit with status 1, not 64.
    group.addCommand(factory(run).exitOverride().addHelpText('after', `\n${ABOUT_MEMORY}`));
  }
  return group;
};
