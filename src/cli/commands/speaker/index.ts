import { Command } from 'commander';
import type { CommandFactory } from '../../command.js';
import { enrollCommand } from './enroll.js';
import { identifyCommand } from './identify.js';
import { lsCommand } from './ls.js';
import { rmCommand } from './rm.js';

const subcommands: CommandFactory[] = [enrollCommand, identifyCommand, lsCommand, rmCommand];

export const speakerCommand: CommandFactory = (run) => {
  const group = new Command('speaker').description("enrolled speakers: voiceprints in a vector-memory collection in the speaker model's space, and who a clip sounds like");
  // addCommand does not pass the parent's settings on: without its own exitOverride a
  // subcommand's usage error would exit the process (status 1) instead of returning 64.
  for (const factory of subcommands) group.addCommand(factory(run).exitOverride());
  return group;
};
