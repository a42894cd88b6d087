import { exitWithLauncher, relaunch, shouldRelaunch } from './relaunch.js';

// Started by npx or by a relaunch, hearth must not outlive what started it (see launchers()).
exitWithLauncher(process.env);
// The launcher of a relaunch only waits for its child, so it must not load the CLI (~0.4 s of imports) first.
process.exitCode = shouldRelaunch(process.argv, process.env) ? await relaunch(process.argv, process.env) : await (await import('./main.js')).main(process.argv);
