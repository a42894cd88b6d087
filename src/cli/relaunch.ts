import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { missingRuntimeEnv } from '../runtime/runtime-env.js';

/** Commands that run inference, and so need the runtime environment from the start. */
const INFERENCE_COMMANDS = new Set(['serve', 'run', 'embed']);
/** Set in a relaunched child, so it never relaunches again. */
export const APPLIED = 'HEARTH_RUNTIME_ENV_APPLIED';

/** True when this invocation runs inference and the process did not start with the runtime environment. */
export function shouldRelaunch(argv: string[], env: NodeJS.ProcessEnv): boolean {
  const command = argv.slice(2).find((a) => !a.startsWith('-'));
  return command !== undefined && INFERENCE_COMMANDS.has(command) && env[APPLIED] !== '1' && Object.keys(missingRuntimeEnv(env)).length > 0;
}

/**
 * Runs this same command again in a child process that starts with the
 * runtime environment, forwarding signals and the exit status. The cost is
 * one extra Node start-up (~50 ms), paid only by inference commands.
 */
export function relaunch(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, ...argv.slice(1)], {
    stdio: 'inherit',
    env: { ...env, ...missingRuntimeEnv(env), [APPLIED]: '1' },
  });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of signals) process.on(s, forward);
  return new Promise((resolve) => {
    child.on('error', () => resolve(70));
    child.on('close', (code, signal) => {
      for (const s of signals) process.off(s, forward);
      resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
    });
  });
}

/**
 * In the relaunched child: exit if the launcher dies without forwarding a
 * signal (SIGKILL cannot be forwarded), so no orphan keeps a port or a model.
 */
export function exitWithLauncher(env: NodeJS.ProcessEnv): void {
  if (env[APPLIED] !== '1') return;
  const launcher = process.ppid;
  setInterval(() => {
    if (process.ppid !== launcher) process.kill(process.pid, 'SIGTERM');
  }, 1000).unref();
}
