import { main } from './main.js';
import { relaunch, shouldRelaunch } from './relaunch.js';

process.exitCode = shouldRelaunch(process.argv, process.env) ? await relaunch(process.argv, process.env) : await main(process.argv);
