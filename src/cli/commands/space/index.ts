import { Command } from 'commander';
import type { CommandFactory } from '../../command.js';
import { checkCommand } from './check.js';
import { createCommand } from './create.js';
import { exportCommand } from './export.js';
import { importCommand } from './import.js';
import { lsCommand } from './ls.js';
import { ABOUT_SPACES } from './present.js';
import { rmCommand } from './rm.js';
import { showCommand } from './show.js';

const subcommands: CommandFactory[] = [createCommand, lsCommand, showCommand, checkCommand, rmCommand, exportCommand, importCommand];

export const spaceCommand: CommandFactory = (run) => {
  const group = new Command('space')
    .description('embedding spaces: which model and runtime made a set of vectors, and a probe check that another runtime makes the same ones')
    .addHelpText('after', `\n${ABOUT_SPACES}`);
  for (const factory of subcommands) {
    // addCommand does not pass the parent's settings on: without its own exitOverride a
    // subcommand's usage error would exit the process (status 1) instead of returning 64.
    group.addCommand(factory(run).exitOverride().addHelpText('after', `\n${ABOUT_SPACES}`));
  }
  return group;
};
