import { readdirSync, readFileSync } from 'node:fs';

/** Process-tree helpers for tests that start hearth through launchers (Linux /proc). */
export const HAS_PROC = (() => {
  try {
    readFileSync('/proc/self/stat');
    return true;
  } catch {
    return false;
  }
})();

function stat(pid: number): { state: string; ppid: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '?', ppid: Number(fields[1]) };
  } catch {
    return undefined;
  }
}

/** Exited: no such process, or a zombie that only waits to be reaped by whoever adopted it. */
export function isGone(pid: number): boolean {
  const s = stat(pid);
  return s === undefined || s.state === 'Z' || s.state === 'X';
}

/** A process's command line, '' once it has exited. */
export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return '';
  }
}

/** Every live process below `root`, with its command line. */
export function descendants(root: number): Array<{ pid: number; cmdline: string }> {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const s = stat(pid);
    if (s && s.state !== 'Z') parent.set(pid, s.ppid);
  }
  const found: Array<{ pid: number; cmdline: string }> = [];
  const below = new Set([root]);
  // Children can have lower pids than their parents after wrap-around, so sweep until nothing changes.
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, ppid] of parent) {
      if (below.has(ppid) && !below.has(pid)) {
        below.add(pid);
        grew = true;
        found.push({ pid, cmdline: cmdline(pid) });
      }
    }
  }
  return found;
}
