import launchEnv = require('../runtime/launch-env.cjs');

/**
 * What the CLI decides before any ES module loads: whether this invocation
 * runs inference, and so needs the runtime environment (launch-env.cts).
 * CommonJS, so that bin/hearth.js can apply it in its own process before
 * libuv's pool starts; from an ES module entry it is too late, and entry.ts
 * relaunches instead (relaunch.ts).
 */

/** Commands that run inference; a group's subcommand with its group's name. */
const INFERENCE_COMMANDS: ReadonlySet<string> = new Set(['serve', 'run', 'embed', 'space create', 'space check', 'memory create', 'memory add', 'memory query', 'memory stats', 'memory diagnose', 'memory migrate']);

/** True when the command line (argv[0] and argv[1] are node and the script) runs inference. */
function isInferenceCommand(argv: readonly string[]): boolean {
  const [command, subcommand] = argv.slice(2).filter((a) => !a.startsWith('-'));
  return command !== undefined && (INFERENCE_COMMANDS.has(command) || INFERENCE_COMMANDS.has(`${command} ${subcommand}`));
}

/**
 * Sets the missing runtime variables in this process's own environment, for
 * an inference command. Only for a process whose libuv pool has not run any
 * work yet, and before node-llama-cpp's native library loads: a CommonJS
 * entry's first statements. Returns what it set.
 */
function applyInPlace(argv: readonly string[], env: NodeJS.ProcessEnv): Record<string, string> {
  if (!isInferenceCommand(argv)) return {};
  const missing = launchEnv.missingRuntimeEnv(env);
  Object.assign(env, missing);
  return missing;
}

export = { isInferenceCommand, applyInPlace };
