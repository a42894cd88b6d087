import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { missingRuntimeEnv } from '../runtime/runtime-env.js';
import launch from './launch.cjs';
/** Set in a relaunched child, so it never relaunches again. */
export const APPLIED = 'HEARTH_RUNTIME_ENV_APPLIED';
/** Set by npm for `npx`, `npm exec` and scripts (and by pnpm and yarn for scripts). */
const PACKAGE_MANAGER_MARK = 'npm_lifecycle_event';
/** How often the launcher is looked at: hearth notices a dead one within this. */
const WATCH_INTERVAL_MS = 1000;
/** npx is npm → sh → hearth; each nested npm script adds two more. */
const MAX_LAUNCHER_DEPTH = 8;

/** True when this invocation runs inference and the process did not start with the runtime environment. */
export function shouldRelaunch(argv: string[], env: NodeJS.ProcessEnv): boolean {
  return launch.isInferenceCommand(argv) && env[APPLIED] !== '1' && Object.keys(missingRuntimeEnv(env)).length > 0;
}

/**
 * Runs this same command again in a child process that starts with the
 * runtime environment, forwarding signals and the exit status. The cost is
 * one extra Node start-up (~170 ms on 2 vCPUs), paid only by inference
 * commands started from an ES module entry (from source, or dist/cli/entry.js
 * itself); bin/hearth.js applies the environment in place instead.
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

/** A process hearth must not outlive; the start time tells a reused pid from it (undefined without /proc). */
export interface Launcher {
  pid: number;
  start: string | undefined;
}

/**
 * The processes whose end ends hearth, nearest first; empty when hearth has no launcher.
 * - A relaunched child has its relaunching parent, which forwards every signal but SIGKILL.
 * - Under a package manager (`npx hearth`), every process up to and including the package
 *   manager. npm forwards SIGINT and SIGTERM only to the `sh -c` it spawned; that shell dies of
 *   SIGTERM and leaves hearth running as an orphan, and a SIGKILLed npm forwards nothing.
 *   Found through /proc (Linux); elsewhere only the parent is known.
 * - Started from a shell (`nohup hearth serve &`, `setsid`), none: hearth outlives its parent, as asked.
 */
export function launchers(env: NodeJS.ProcessEnv, ppid: number = process.ppid): Launcher[] {
  if (env[APPLIED] === '1') return [{ pid: ppid, start: readStat(ppid)?.start }];
  if (!env[PACKAGE_MANAGER_MARK]) return [];
  const chain: Launcher[] = [];
  for (let pid = ppid; pid > 0 && chain.length < MAX_LAUNCHER_DEPTH; ) {
    const stat = readStat(pid);
    if (stat === undefined) break;
    chain.push({ pid, start: stat.start });
    // The package manager itself was started without the mark (unless it is nested in another).
    if (!hasPackageManagerMark(pid)) break;
    pid = stat.ppid;
  }
  return chain.length > 0 ? chain : [{ pid: ppid, start: undefined }];
}

/** True while every launcher still runs: the parent has not changed, and no other one is gone, a zombie, or a new process under a reused pid. */
export function launchersAlive(chain: Launcher[]): boolean {
  return chain.every(({ pid, start }, i) => {
    // A dead parent's children are re-parented at once, before anyone reaps it.
    if (i === 0 && process.ppid !== pid) return false;
    if (start === undefined) return true;
    const stat = readStat(pid);
    return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X' && stat.start === start;
  });
}

/**
 * Shuts hearth down, as on SIGTERM, once one of its launchers is gone, so no orphan keeps
 * a port or a model. It polls, because no signal tells a process that an ancestor died
 * (Linux's PR_SET_PDEATHSIG would cover only the parent, and Node does not expose it).
 */
export function exitWithLauncher(env: NodeJS.ProcessEnv): void {
  const chain = launchers(env);
  if (chain.length === 0) return;
  const timer = setInterval(() => {
    if (launchersAlive(chain)) return;
    clearInterval(timer);
    process.kill(process.pid, 'SIGTERM');
  }, WATCH_INTERVAL_MS).unref();
}

/*
 * Hand-written rather than a process-list library: the watch needs two fields of
 * /proc/<pid>/stat once a second and one variable of /proc/<pid>/environ at start-up, where
 * those libraries spawn `ps` for every look.
 */
function readStat(pid: number): { state: string; ppid: number; start: string } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2, the command name, is in parentheses and may itself hold spaces and parentheses.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const [state, ppid, start] = [fields[0], Number(fields[1]), fields[19]];
    return state !== undefined && start !== undefined && Number.isInteger(ppid) ? { state, ppid, start } : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a process started with the package-manager mark; unreadable (another user's process) counts as no. */
function hasPackageManagerMark(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').some((entry) => entry.startsWith(`${PACKAGE_MANAGER_MARK}=`));
  } catch {
    return false;
  }
}
