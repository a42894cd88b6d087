import { main } from './main.js';
import { exitWithLauncher, relaunch, shouldRelaunch } from './relaunch.js';

exitWithLauncher(process.env);
process.exitCode = shouldRelaunch(process.argv, process.env) ? await relaunch(process.argv, process.env) : await main(process.argv);
