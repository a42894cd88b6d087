import { Command } from 'commander';
import type { CommandFactory } from '../../command.js';
import { embedCommand } from './embed.js';

const subcommands: CommandFactory[] = [embedCommand];

export const audioCommand: CommandFactory = (run) => {
  const group = new Command('audio').description('speaker embeddings from audio with a SpeechBrain ECAPA-TDNN repo, offline and without Python');
  // addCommand does not pass the parent's settings on: without its own exitOverride a
  // subcommand's usage error would exit the process (status 1) instead of returning 64.
  for (const factory of subcommands) group.addCommand(factory(run).exitOverride());
  return group;
};
