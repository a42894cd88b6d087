import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/**
 * Lowers the calling thread's CPU priority (Linux nice, per thread). For
 * background work that shares the cores with a server's event loop: a pull's
 * download and hash threads then yield to request handling and inference
 * when the cores are busy, and still take every idle cycle.
 *
 * Linux only: its setpriority() takes a thread id, which /proc/thread-self
 * names. Elsewhere (and in a container that forbids it) this does nothing.
 */
export function lowerThisThreadPriority(nice = 10): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, nice);
  } catch {
    // Not Linux, or not allowed: the thread keeps its priority.
  }
}
